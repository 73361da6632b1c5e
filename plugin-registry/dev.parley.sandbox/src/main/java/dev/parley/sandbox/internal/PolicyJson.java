package dev.parley.sandbox.internal;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.parley.registry.PluginDescriptors;
import dev.parley.registry.PluginRegistry;
import dev.parley.sandbox.PolicyException;
import dev.parley.sandbox.SandboxPolicy;
import dev.parley.sandbox.ScanRules;
import dev.parley.sandbox.Tier;
import dev.parley.sandbox.TierPolicy;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The policy files' format (one JSON object per tier, as under {@code sandbox-policy/} and in the admin API) and the
 * checks a tier's policy, and the policy of all tiers together, must pass. Unknown fields are refused, so a misspelt
 * one is not silently ignored.
 */
final class PolicyJson {
    /** The JSON shape of one tier's policy. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record PolicyFile(String tier, String description, List<String> publishers, List<String> plugins,
            List<String> imports, List<String> permissions, BytecodeFile bytecode, LimitsFile limits,
            RuntimeFile runtime) {
    }

    record BytecodeFile(String enforce, List<String> reportOnly) {
    }

    record RuntimeFile(String enforce) {
    }

    record LimitsFile(Long callTimeoutMs, Integer maxConcurrentCalls, Boolean outOfProcess, Integer heapMb,
            Integer cpuMillicores, Integer maxThreads, Integer maxHostThreads) {
    }

    static final String RESOURCE_FOLDER = "sandbox-policy/";
    private static final int MAX_LIST = 1000;
    private static final Pattern PACKAGE = Pattern.compile(
            "\\*|[A-Za-z_$][A-Za-z0-9_$]*(\\.[A-Za-z_$][A-Za-z0-9_$]*)*(\\.\\*)?");
    private static final long MAX_TIMEOUT_MS = 24L * 60 * 60 * 1000;

    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .enable(SerializationFeature.INDENT_OUTPUT);

    private PolicyJson() {
    }

    /** The default policy of every tier, from the files this bundle carries. */
    static SandboxPolicy defaults(ClassLoader loader) {
        Map<Tier, TierPolicy> tiers = new EnumMap<>(Tier.class);
        for (Tier t : Tier.values()) {
            String name = RESOURCE_FOLDER + t.slug() + ".json";
            try (InputStream in = loader.getResourceAsStream(name)) {
                if (in == null) {
                    throw new PolicyException("the default policy file " + name + " is missing");
                }
                TierPolicy p = parse(new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8));
                if (p.tier() != t) {
                    throw new PolicyException(name + " describes tier " + p.tier().slug());
                }
                tiers.put(t, p);
            } catch (IOException e) {
                throw new PolicyException("the default policy file " + name + " cannot be read: " + e.getMessage(), e);
            } catch (PolicyException e) {
                throw new PolicyException(name + ": " + e.getMessage(), e);
            }
        }
        return validate(new SandboxPolicy(tiers));
    }

    /**
     * One tier's policy from its JSON, checked on its own.
     *
     * @throws PolicyException naming what is wrong
     */
    static TierPolicy parse(String json) {
        PolicyFile f;
        try {
            f = JSON.readValue(json, PolicyFile.class);
        } catch (JsonProcessingException e) {
            throw new PolicyException("not a tier policy: " + e.getOriginalMessage());
        }
        if (f == null) {
            throw new PolicyException("not a tier policy: the document is empty");
        }
        return check(f);
    }

    static String write(TierPolicy p) {
        try {
            return JSON.writeValueAsString(file(p));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write a tier policy", e);
        }
    }

    /** The JSON shape of {@code p}, as the admin API shows it. */
    static PolicyFile file(TierPolicy p) {
        TierPolicy.Limits l = p.limits();
        return new PolicyFile(p.tier().slug(), p.description(), p.publishers(), p.plugins(), p.imports(),
                p.permissions(),
                new BytecodeFile(p.bytecode().enforce(), p.bytecode().reportOnly()),
                new LimitsFile(l.callTimeoutMs(), l.maxConcurrentCalls(), l.outOfProcess(), l.heapMb(),
                        l.cpuMillicores(), l.maxThreads(), l.maxHostThreads()),
                new RuntimeFile(p.runtime().enforce()));
    }

    private static TierPolicy check(PolicyFile f) {
        Tier tier = Tier.of(f.tier()).orElseThrow(() -> new PolicyException("tier must be one of trusted, verified, "
                + "untrusted; found " + (f.tier() == null ? "none" : "'" + f.tier() + "'")));
        String description = f.description() == null ? "" : f.description().strip();
        if (description.length() > 2000) {
            throw new PolicyException("description is longer than 2000 characters");
        }
        List<String> publishers = list("publishers", f.publishers());
        for (String p : publishers) {
            if (!p.equals(TierPolicy.ANY_REGISTERED) && !PluginDescriptors.ID.matcher(p).matches()) {
                throw new PolicyException("publishers: '" + p + "' is not a publisher id (a-z, 0-9, '.', '_', '-') "
                        + "nor " + TierPolicy.ANY_REGISTERED + " (every publisher an admin added that no tier names)");
            }
        }
        // Optional: policy files written before it existed have none.
        List<String> plugins = f.plugins() == null ? List.of() : list("plugins", f.plugins());
        for (String p : plugins) {
            if (!PluginDescriptors.ID.matcher(p).matches()) {
                throw new PolicyException("plugins: '" + p + "' is not a plugin id (a-z, 0-9, '.', '_', '-')");
            }
        }
        List<String> imports = list("imports", f.imports());
        for (String i : imports) {
            if (!PACKAGE.matcher(i).matches()) {
                throw new PolicyException("imports: '" + i + "' is not a package name, a.b.* or *");
            }
        }
        List<String> permissions = list("permissions", f.permissions());
        for (String k : permissions) {
            if (!PluginDescriptors.PERMISSION_KINDS.contains(k)) {
                throw new PolicyException("permissions: '" + k + "' is not a permission kind; use "
                        + String.join(", ", new java.util.TreeSet<>(PluginDescriptors.PERMISSION_KINDS)));
            }
        }
        if (f.bytecode() == null) {
            throw new PolicyException("bytecode is missing: {\"enforce\": \"refuse\" or \"report\", \"reportOnly\": [rule ids]}");
        }
        String enforce = f.bytecode().enforce() == null ? null : f.bytecode().enforce().strip();
        if (!TierPolicy.Bytecode.REFUSE.equals(enforce) && !TierPolicy.Bytecode.REPORT.equals(enforce)) {
            throw new PolicyException("bytecode.enforce must be refuse or report, not " + (enforce == null ? "missing"
                    : "'" + enforce + "'"));
        }
        List<String> reportOnly = f.bytecode().reportOnly() == null ? List.of() : list("bytecode.reportOnly",
                f.bytecode().reportOnly());
        for (String r : reportOnly) {
            if (ScanRules.byId(r).isEmpty()) {
                throw new PolicyException("bytecode.reportOnly: '" + r + "' is not a rule; the rules are "
                        + ScanRules.ALL.stream().map(ScanRules.Rule::id).toList());
            }
        }
        if (f.limits() == null) {
            throw new PolicyException("limits is missing: {\"callTimeoutMs\": …, \"maxConcurrentCalls\": …}");
        }
        LimitsFile l = f.limits();
        long timeout = l.callTimeoutMs() == null ? 0 : l.callTimeoutMs();
        if (timeout < 0 || timeout > MAX_TIMEOUT_MS) {
            throw new PolicyException("limits.callTimeoutMs must be between 0 (none) and " + MAX_TIMEOUT_MS);
        }
        int concurrent = nonNegative("limits.maxConcurrentCalls", l.maxConcurrentCalls(), 1_000_000);
        int heap = nonNegative("limits.heapMb", l.heapMb(), 1_048_576);
        int cpu = nonNegative("limits.cpuMillicores", l.cpuMillicores(), 1_024_000);
        int threads = nonNegative("limits.maxThreads", l.maxThreads(), 1_000_000);
        int hostThreads = nonNegative("limits.maxHostThreads", l.maxHostThreads(), 1_000_000);
        // Optional: policy files written before it existed have none, and their plugins' checks refuse.
        String runtime = f.runtime() == null || f.runtime().enforce() == null ? TierPolicy.RuntimeChecks.REFUSE
                : f.runtime().enforce().strip();
        if (!TierPolicy.RuntimeChecks.REFUSE.equals(runtime) && !TierPolicy.RuntimeChecks.REPORT.equals(runtime)) {
            throw new PolicyException("runtime.enforce must be refuse or report, not '" + runtime + "'");
        }
        return new TierPolicy(tier, description, publishers, plugins, imports, permissions,
                new TierPolicy.Bytecode(enforce, reportOnly),
                new TierPolicy.Limits(timeout, concurrent, Boolean.TRUE.equals(l.outOfProcess()), heap, cpu, threads,
                        hostThreads),
                new TierPolicy.RuntimeChecks(runtime));
    }

    /**
     * Checks the tiers together: a publisher is in one tier at most, {@value TierPolicy#ANY_REGISTERED} in one tier at
     * most, and the distribution's publisher is trusted (its plugins embed libraries that the other tiers refuse).
     *
     * @return {@code policy}
     */
    static SandboxPolicy validate(SandboxPolicy policy) {
        Map<String, Tier> seen = new HashMap<>();
        for (TierPolicy p : policy.tiers().values()) {
            for (String publisher : p.publishers()) {
                Tier other = seen.putIfAbsent(publisher, p.tier());
                if (other != null && other != p.tier()) {
                    throw new PolicyException((publisher.equals(TierPolicy.ANY_REGISTERED)
                            ? "'*' (every registered publisher no tier names)" : "publisher '" + publisher + "'")
                            + " is in both " + other.slug() + " and " + p.tier().slug() + "; a publisher is in one tier");
                }
            }
        }
        Map<String, Tier> placed = new HashMap<>();
        for (TierPolicy p : policy.tiers().values()) {
            for (String plugin : p.plugins()) {
                Tier other = placed.putIfAbsent(plugin, p.tier());
                if (other != null && other != p.tier()) {
                    throw new PolicyException("plugin '" + plugin + "' is in both " + other.slug() + " and "
                            + p.tier().slug() + "; a plugin is in one tier");
                }
            }
        }
        if (seen.get(PluginRegistry.DISTRIBUTION_PUBLISHER) != Tier.TRUSTED) {
            throw new PolicyException("publisher '" + PluginRegistry.DISTRIBUTION_PUBLISHER + "' (the plugins the "
                    + "server ships) must be in trusted");
        }
        return policy;
    }

    private static List<String> list(String field, List<String> values) {
        if (values == null) {
            throw new PolicyException(field + " is missing (an empty list is allowed)");
        }
        if (values.size() > MAX_LIST) {
            throw new PolicyException(field + " has more than " + MAX_LIST + " entries");
        }
        List<String> out = new ArrayList<>();
        for (String v : values) {
            if (v == null || v.isBlank()) {
                throw new PolicyException(field + " has an empty entry");
            }
            if (!out.contains(v.strip())) {
                out.add(v.strip());
            }
        }
        return out;
    }

    private static int nonNegative(String field, Integer value, int max) {
        int v = value == null ? 0 : value;
        if (v < 0 || v > max) {
            throw new PolicyException(field + " must be between 0 (none) and " + max);
        }
        return v;
    }
}
