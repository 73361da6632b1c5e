package dev.parley.sandbox.internal;

import aQute.bnd.header.OSGiHeader;
import dev.parley.registry.Permission;
import dev.parley.registry.PluginDescriptor;
import dev.parley.registry.PluginDescriptors;
import dev.parley.registry.PluginRegistry;
import dev.parley.registry.RegistryException;
import dev.parley.sandbox.AdmissionReport;
import dev.parley.sandbox.AdmissionRequest;
import dev.parley.sandbox.BytecodeScanner;
import dev.parley.sandbox.Finding;
import dev.parley.sandbox.PluginAdmission;
import dev.parley.sandbox.SandboxPolicies;
import dev.parley.sandbox.SandboxPolicy;
import dev.parley.sandbox.ScanRules;
import dev.parley.sandbox.Tier;
import dev.parley.sandbox.TierPolicy;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarFile;
import java.util.jar.Manifest;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.metatype.annotations.Designate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Admission by the policy of the plugin's tier ({@link PluginAdmission}): publisher and id owner, the manifest as the
 * framework will read it, permissions that may be granted, imports on the allow-list, and the bytecode scan.
 */
@Component(service = PluginAdmission.class, configurationPid = SandboxConfig.PID)
public class AdmissionService implements PluginAdmission {
    private static final Logger LOG = LoggerFactory.getLogger(AdmissionService.class);

    static final String PUBLISHER = "publisher";
    static final String MANIFEST = "manifest";
    static final String PERMISSION = "permission";
    static final String IMPORT = "import";

    private final SandboxPolicies policies;
    private final BytecodeScanner scanner;
    private final Path tempDir;

    @Activate
    public AdmissionService(@Reference SandboxPolicies policies, SandboxConfig config) {
        this(policies, new BytecodeScanner.Limits(config.maxClasses(), config.maxEntries(),
                config.maxInflatedMb() * 1024L * 1024L, config.maxClassKb() * 1024, config.maxJarDepth(),
                BytecodeScanner.Limits.DEFAULT.maxFindingsPerRule()), Path.of(System.getProperty("java.io.tmpdir")));
    }

    /**
     * Admission by the policy the server ships (the files of {@code sandbox-policy/}), with the default scan limits
     * and no database: for tools and for tests that run without the framework (the shipped plugins' own check).
     */
    public static PluginAdmission withShippedPolicy(Path tempDir) {
        SandboxPolicy defaults = PolicyJson.defaults(AdmissionService.class.getClassLoader());
        return new AdmissionService(new SandboxPolicies() {
            @Override
            public SandboxPolicy current() {
                return defaults;
            }

            @Override
            public SandboxPolicy defaults() {
                return defaults;
            }

            @Override
            public List<Stored> stored() {
                return defaults.tiers().values().stream().map(t -> new Stored(t, Stored.DEFAULT, 0, null, null))
                        .toList();
            }

            @Override
            public Stored replace(TierPolicy policy, String actor) {
                throw new UnsupportedOperationException("the shipped policy is read-only here");
            }

            @Override
            public Stored reset(Tier tier, String actor) {
                throw new UnsupportedOperationException("the shipped policy is read-only here");
            }
        }, BytecodeScanner.Limits.DEFAULT, tempDir);
    }

    AdmissionService(SandboxPolicies policies, BytecodeScanner.Limits limits, Path tempDir) {
        this.policies = policies;
        this.tempDir = tempDir;
        this.scanner = new BytecodeScanner(limits, ScanRules.ALL, tempDir);
    }

    @Override
    public AdmissionReport admit(byte[] jar, AdmissionRequest request) {
        PluginDescriptor d = request.descriptor();
        List<Finding> refusals = new ArrayList<>();
        boolean distribution = PluginRegistry.DISTRIBUTION_PUBLISHER.equals(d.publisher());
        Optional<Tier> tier = policies.current().tierOf(d.id(), d.publisher(),
                request.publisherRegistered() || distribution);
        if (tier.isEmpty()) {
            refusals.add(new Finding(PUBLISHER, "a plugin's publisher must be in a tier of the sandbox policy", null,
                    null, "publisher '" + d.publisher() + "' is in no tier: no policy file names it"
                            + (request.publisherRegistered() ? " and no tier takes every registered publisher ('*')"
                                    : " and the registry does not know it"), null));
            return report(d, null, refusals, List.of(), Map.of(), AdmissionReport.Scan.NONE);
        }
        TierPolicy policy = policies.current().tier(tier.get());
        if (request.owner() != null && !request.owner().equals(d.publisher())) {
            refusals.add(new Finding(PUBLISHER, "a plugin id belongs to the publisher that published it first", null,
                    null, "plugin id '" + d.id() + "' belongs to publisher '" + request.owner() + "', not '"
                            + d.publisher() + "'", null));
        }
        Set<String> declared = new HashSet<>();
        for (Permission p : d.permissions()) {
            declared.add(p.kind());
            if (!policy.grants(p.kind())) {
                refusals.add(new Finding(PERMISSION, "a plugin may declare only the permissions its tier may grant",
                        null, null, p.kind() + (p.target() == null || p.target().isEmpty() ? "" : " " + p.target())
                                + " cannot be granted in tier " + tier.get().slug() + " (it grants "
                                + policy.permissions() + ")", null));
            }
        }
        Path file = null;
        AdmissionReport.Scan scan = AdmissionReport.Scan.NONE;
        List<Finding> reported = new ArrayList<>();
        Map<String, Integer> reportedCount = new TreeMap<>();
        try {
            file = Files.createTempFile(tempDir, "parley-admission-", ".jar");
            Files.write(file, jar);
            Manifest manifest = manifest(file);
            if (manifest == null) {
                refusals.add(new Finding(MANIFEST, "the manifest the framework reads must be the one checked", null,
                        null, "the jar's central directory has no readable " + JarFile.MANIFEST_NAME, null));
            } else {
                sameAsDescriptor(manifest, d, refusals);
                imports(manifest, policy, refusals);
            }
            if (request.scan() || !policy.bytecode().reportsOnly()) {
                Set<String> covered = new HashSet<>();
                for (ScanRules.Rule r : ScanRules.ALL) {
                    if (r.coveredBy() != null && declared.contains(r.coveredBy())) {
                        covered.add(r.id());
                    }
                }
                BytecodeScanner.Result result = scanner.scan(file, covered);
                scan = new AdmissionReport.Scan(true, result.classes(), result.jars(), result.bytes(),
                        TimeUnit.NANOSECONDS.toMillis(result.nanos()));
                if (result.stopped() != null) {
                    refusals.add(result.stopped());
                }
                for (Finding f : result.findings()) {
                    if (policy.bytecode().refuses(f.rule())) {
                        refusals.add(f);
                    } else {
                        reported.add(f);
                    }
                }
                result.counts().forEach((rule, n) -> {
                    if (!policy.bytecode().refuses(rule)) {
                        reportedCount.put(rule, n);
                    }
                });
            }
        } catch (IOException e) {
            refusals.add(new Finding(BytecodeScanner.SCAN_LIMIT, "a jar that cannot be read whole is not admitted",
                    null, null, "the jar could not be read: " + e.getMessage(), null));
        } finally {
            if (file != null) {
                try {
                    Files.deleteIfExists(file);
                } catch (IOException ignored) {
                    // a temporary file
                }
            }
        }
        AdmissionReport report = report(d, tier.get(), refusals, reported, reportedCount, scan);
        LOG.info("event=plugin_admission plugin={} version={} publisher={} tier={} admitted={} refusals={} "
                + "reported={} classes={} jars={} scanMs={}", d.id(), d.version(), d.publisher(), tier.get().slug(),
                report.admitted(), refusals.size(), reportedCount.values().stream().mapToInt(Integer::intValue).sum(),
                scan.classes(), scan.jars(), scan.millis());
        return report;
    }

    private static AdmissionReport report(PluginDescriptor d, Tier tier, List<Finding> refusals, List<Finding> reported,
            Map<String, Integer> reportedCount, AdmissionReport.Scan scan) {
        return new AdmissionReport(d.id(), d.version(), d.publisher(), tier, refusals.isEmpty(), refusals, reported,
                reportedCount, scan);
    }

    /** The manifest through the central directory, as the framework reads the bundle; null if there is none. */
    private Manifest manifest(Path file) throws IOException {
        try (ZipFile zip = new ZipFile(file.toFile())) {
            ZipEntry entry = zip.getEntry(JarFile.MANIFEST_NAME);
            if (entry == null) {
                return null;
            }
            long max = scanner.limits().maxClassBytes();
            if (entry.getSize() > max) {
                return null;
            }
            try (InputStream in = zip.getInputStream(entry)) {
                byte[] bytes = in.readNBytes((int) max + 1);
                if (bytes.length > max) {
                    return null;
                }
                return new Manifest(new java.io.ByteArrayInputStream(bytes));
            }
        }
    }

    /**
     * The registry read the descriptor by walking the jar's local headers; the framework reads the central directory.
     * A jar whose two manifests differ says one thing to the registry and another to the framework.
     */
    private static void sameAsDescriptor(Manifest manifest, PluginDescriptor d, List<Finding> refusals) {
        PluginDescriptor framework;
        try {
            framework = PluginDescriptors.describe(manifest);
        } catch (RegistryException e) {
            refusals.add(new Finding(MANIFEST, "the manifest the framework reads must be the one checked", null, null,
                    e.getMessage(), null));
            return;
        }
        Map<String, Object[]> pairs = new LinkedHashMap<>();
        pairs.put("plugin id", new Object[] {d.id(), framework.id()});
        pairs.put("version", new Object[] {d.version(), framework.version()});
        pairs.put("publisher", new Object[] {d.publisher(), framework.publisher()});
        pairs.put("symbolic name", new Object[] {d.symbolicName(), framework.symbolicName()});
        pairs.put("permissions", new Object[] {new HashSet<>(d.permissions()), new HashSet<>(framework.permissions())});
        pairs.forEach((what, v) -> {
            if (!Objects.equals(v[0], v[1])) {
                refusals.add(new Finding(MANIFEST, "the manifest the framework reads must be the one checked", null,
                        null, "the " + what + " in the jar's central directory (" + v[1] + ") differs from the one "
                                + "checked (" + v[0] + ")", null));
            }
        });
    }

    /** Every package the plugin could wire to: Import-Package (optional ones too), DynamicImport-Package, Require-Bundle. */
    private static void imports(Manifest manifest, TierPolicy policy, List<Finding> refusals) {
        String title = "a plugin may import only the packages its tier allows";
        String imports = manifest.getMainAttributes().getValue("Import-Package");
        if (imports != null && !imports.isBlank()) {
            for (String key : OSGiHeader.parseHeader(imports).keyList()) {
                String pkg = clause(key);
                if (!policy.allowsImport(pkg)) {
                    refusals.add(new Finding(IMPORT, title, null, null, "Import-Package " + pkg + " is not allowed in "
                            + "tier " + policy.tier().slug(), null));
                }
            }
        }
        String dynamic = manifest.getMainAttributes().getValue("DynamicImport-Package");
        if (dynamic != null && !dynamic.isBlank()) {
            for (String key : OSGiHeader.parseHeader(dynamic).keyList()) {
                String pattern = clause(key);
                // A wildcard can wire to anything it matches: allowed only if all of that is allowed.
                boolean ok;
                if (pattern.equals("*")) {
                    ok = policy.imports().contains("*");
                } else if (pattern.endsWith(".*")) {
                    String base = pattern.substring(0, pattern.length() - 2);
                    ok = policy.imports().stream().anyMatch(i -> i.equals("*") || (i.endsWith(".*")
                            && (base.equals(i.substring(0, i.length() - 2))
                                    || base.startsWith(i.substring(0, i.length() - 2) + "."))));
                } else {
                    ok = policy.allowsImport(pattern);
                }
                if (!ok) {
                    refusals.add(new Finding(IMPORT, title, null, null, "DynamicImport-Package " + pattern
                            + " is not allowed in tier " + policy.tier().slug(), null));
                }
            }
        }
        String requireBundle = manifest.getMainAttributes().getValue("Require-Bundle");
        if (requireBundle != null && !requireBundle.isBlank() && !policy.imports().contains("*")) {
            refusals.add(new Finding(IMPORT, title, null, null, "Require-Bundle " + requireBundle.strip()
                    + " wires to every package of those bundles; import packages instead", null));
        }
    }

    /** bnd marks repeated clause names with trailing '~'. */
    private static String clause(String key) {
        int end = key.length();
        while (end > 0 && key.charAt(end - 1) == '~') {
            end--;
        }
        return key.substring(0, end).strip();
    }
}
