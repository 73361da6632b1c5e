package dev.parley.sandbox.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.objectweb.asm.Opcodes.INVOKESPECIAL;
import static org.objectweb.asm.Opcodes.INVOKESTATIC;
import static org.objectweb.asm.Opcodes.INVOKEVIRTUAL;

import dev.parley.registry.PluginDescriptors;
import dev.parley.sandbox.AdmissionReport;
import dev.parley.sandbox.AdmissionRequest;
import dev.parley.sandbox.BytecodeScanner;
import dev.parley.sandbox.Finding;
import dev.parley.sandbox.SandboxPolicies;
import dev.parley.sandbox.SandboxPolicy;
import dev.parley.sandbox.TestClasses;
import dev.parley.sandbox.TestClasses.Jar;
import dev.parley.sandbox.Tier;
import dev.parley.sandbox.TierPolicy;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AdmissionServiceTest {
    @TempDir
    Path temp;

    static final byte[] EXIT = TestClasses.calling("acme/Bomb", INVOKESTATIC, "java/lang/System", "exit", "(I)V");
    static final byte[] EXECUTOR = TestClasses.calling("acme/Pool", INVOKESTATIC, "java/util/concurrent/Executors",
            "newScheduledThreadPool", "(I)Ljava/util/concurrent/ScheduledExecutorService;");
    static final byte[] SET_ACCESSIBLE = TestClasses.calling("acme/Peek", INVOKEVIRTUAL, "java/lang/reflect/Field",
            "setAccessible", "(Z)V");

    /** A policy service that serves one fixed policy. */
    record Fixed(SandboxPolicy policy) implements SandboxPolicies {
        @Override
        public SandboxPolicy current() {
            return policy;
        }

        @Override
        public SandboxPolicy defaults() {
            return policy;
        }

        @Override
        public List<Stored> stored() {
            return List.of();
        }

        @Override
        public Stored replace(TierPolicy policy, String actor) {
            throw new UnsupportedOperationException();
        }

        @Override
        public Stored reset(Tier tier, String actor) {
            throw new UnsupportedOperationException();
        }
    }

    static SandboxPolicy defaults() {
        return PolicyJson.defaults(PolicyJson.class.getClassLoader());
    }

    /** The defaults with publisher {@code evil} named in untrusted. */
    static SandboxPolicy withUntrusted(String publisher) {
        SandboxPolicy d = defaults();
        Map<Tier, TierPolicy> tiers = new EnumMap<>(d.tiers());
        TierPolicy u = d.tier(Tier.UNTRUSTED);
        tiers.put(Tier.UNTRUSTED, new TierPolicy(Tier.UNTRUSTED, "", List.of(publisher), u.imports(), u.permissions(),
                u.bytecode(), u.limits()));
        return new SandboxPolicy(tiers);
    }

    AdmissionService admission(SandboxPolicy policy) {
        return new AdmissionService(new Fixed(policy), BytecodeScanner.Limits.DEFAULT, temp);
    }

    AdmissionReport admit(SandboxPolicy policy, byte[] jar, boolean registered, String owner) {
        return admission(policy).admit(jar, new AdmissionRequest(PluginDescriptors.read(jar), registered, owner, true));
    }

    @Test
    void aVerifiedPluginCallingSystemExitIsRefusedNamingClassMethodAndRule() {
        byte[] jar = Jar.plugin("evil.exit", "1.0.0", "acme").clazz("acme/Bomb", EXIT).bytes();

        AdmissionReport report = admit(defaults(), jar, true, "acme");

        assertThat(report.tier()).isEqualTo(Tier.VERIFIED);
        assertThat(report.admitted()).isFalse();
        assertThat(report.refusals()).singleElement().satisfies(f -> {
            assertThat(f.rule()).isEqualTo("exit");
            assertThat(f.className()).isEqualTo("acme.Bomb");
            assertThat(f.method()).isEqualTo("run(java.lang.String)");
            assertThat(f.target()).isEqualTo("java.lang.System.exit(int)");
        });
        assertThat(report.reason(3)).isEqualTo("rule exit (System.exit, Runtime.halt and shutdown hooks stop or hook "
                + "the whole server): acme.Bomb.run(java.lang.String) uses java.lang.System.exit(int)");
        assertThat(report.scan().done()).isTrue();
        assertThat(report.scan().classes()).isEqualTo(1);
    }

    @Test
    void threadsAreAdmittedWhenTheThreadPermissionIsDeclared() {
        byte[] without = Jar.plugin("acme.pool", "1.0.0", "acme").clazz("acme/Pool", EXECUTOR).bytes();
        byte[] with = Jar.plugin("acme.pool", "1.0.0", "acme").header("Parley-Permissions", "thread;target=2")
                .clazz("acme/Pool", EXECUTOR).bytes();

        AdmissionReport refused = admit(defaults(), without, true, "acme");
        AdmissionReport admitted = admit(defaults(), with, true, "acme");

        assertThat(refused.admitted()).isFalse();
        assertThat(refused.refusals()).extracting(Finding::rule).containsExactly("thread");
        assertThat(admitted.admitted()).as(admitted.reason(5)).isTrue();
        assertThat(admitted.reported()).isEmpty();
    }

    @Test
    void theDistributionsPluginsAreTrustedAndTheirUsesReportedNotRefused() {
        byte[] jar = Jar.plugin("openai", "1.0.0", "parley").header("Import-Package",
                "dev.parley.api.llm;version=\"[1.0,2)\",javax.net.ssl,sun.misc;resolution:=optional")
                .clazz("acme/Peek", SET_ACCESSIBLE).clazz("acme/Pool", EXECUTOR).bytes();

        AdmissionReport report = admit(defaults(), jar, false, "parley");

        assertThat(report.tier()).isEqualTo(Tier.TRUSTED);
        assertThat(report.admitted()).as(report.reason(5)).isTrue();
        assertThat(report.reported()).extracting(Finding::rule).containsExactlyInAnyOrder("reflection", "thread");
        assertThat(report.reportedCount()).containsEntry("reflection", 1).containsEntry("thread", 1);
    }

    @Test
    void aTrustedPluginIsNotScannedWhenNoScanIsAskedFor() {
        byte[] jar = Jar.plugin("openai", "1.0.0", "parley").clazz("acme/Peek", SET_ACCESSIBLE).bytes();

        AdmissionReport report = admission(defaults()).admit(jar,
                new AdmissionRequest(PluginDescriptors.read(jar), false, "parley", false));

        assertThat(report.admitted()).isTrue();
        assertThat(report.scan().done()).isFalse();
    }

    @Test
    void aPublisherInNoTierIsRefused() {
        byte[] jar = Jar.plugin("ghost.plugin", "1.0.0", "ghost").bytes();

        AdmissionReport report = admit(defaults(), jar, false, null);

        assertThat(report.admitted()).isFalse();
        assertThat(report.tier()).isNull();
        assertThat(report.refusals()).singleElement().satisfies(f -> {
            assertThat(f.rule()).isEqualTo("publisher");
            assertThat(f.target()).contains("'ghost' is in no tier");
        });
    }

    @Test
    void aPluginIdOfAnotherPublisherIsRefused() {
        byte[] jar = Jar.plugin("victim", "9.0.0", "mallory").bytes();

        AdmissionReport report = admit(defaults(), jar, true, "alice");

        assertThat(report.admitted()).isFalse();
        assertThat(report.refusals()).extracting(Finding::target)
                .containsExactly("plugin id 'victim' belongs to publisher 'alice', not 'mallory'");
    }

    @Test
    void importsOffTheTiersAllowListAreRefusedOptionalAndDynamicOnesToo() {
        byte[] jar = Jar.plugin("acme.wide", "1.0.0", "acme")
                .header("Import-Package", "dev.parley.api.llm;version=\"[1.0,2)\",dev.parley.db,"
                        + "org.osgi.framework.wiring;resolution:=optional,java.util.concurrent")
                .header("DynamicImport-Package", "*")
                .header("Require-Bundle", "dev.parley.core")
                .bytes();

        AdmissionReport report = admit(defaults(), jar, true, "acme");

        assertThat(report.refusals()).extracting(Finding::rule).containsOnly("import");
        assertThat(report.refusals()).extracting(Finding::target).containsExactly(
                "Import-Package dev.parley.db is not allowed in tier verified",
                "Import-Package org.osgi.framework.wiring is not allowed in tier verified",
                "DynamicImport-Package * is not allowed in tier verified",
                "Require-Bundle dev.parley.core wires to every package of those bundles; import packages instead");
    }

    @Test
    void permissionsTheTierCannotGrantAreRefused() {
        byte[] jar = Jar.plugin("evil.files", "1.0.0", "evil")
                .header("Parley-Permissions", "network;target=\"api.example.com:443\", file;target=cache;actions=read")
                .bytes();

        AdmissionReport report = admit(withUntrusted("evil"), jar, true, "evil");

        assertThat(report.tier()).isEqualTo(Tier.UNTRUSTED);
        assertThat(report.refusals()).extracting(Finding::rule).containsExactly("permission");
        assertThat(report.refusals().get(0).target()).startsWith("file cache cannot be granted in tier untrusted");
    }

    @Test
    void aManifestTheFrameworkReadsDifferentlyIsRefused() {
        byte[] jar = Jar.plugin("acme.honest", "1.0.0", "acme").bytes();
        // The descriptor the registry read names another plugin than the jar's central directory does.
        var other = PluginDescriptors.read(Jar.plugin("acme.other", "1.0.0", "acme").bytes());

        AdmissionReport report = admission(defaults()).admit(jar, new AdmissionRequest(other, true, "acme", true));

        assertThat(report.admitted()).isFalse();
        assertThat(report.refusals()).extracting(Finding::target).anySatisfy(t -> assertThat(t)
                .contains("plugin id in the jar's central directory (acme.honest) differs"));
    }

    @Test
    void aReportOnlyRuleIsReportedInARefusingTier() {
        SandboxPolicy d = defaults();
        Map<Tier, TierPolicy> tiers = new EnumMap<>(d.tiers());
        TierPolicy v = d.tier(Tier.VERIFIED);
        tiers.put(Tier.VERIFIED, new TierPolicy(Tier.VERIFIED, "", v.publishers(), v.imports(), v.permissions(),
                new TierPolicy.Bytecode("refuse", List.of("environment")), v.limits()));
        byte[] jar = Jar.plugin("acme.env", "1.0.0", "acme").clazz("acme/Env", TestClasses.calling("acme/Env",
                INVOKESTATIC, "java/lang/System", "getenv", "()Ljava/util/Map;")).bytes();

        AdmissionReport report = admit(new SandboxPolicy(tiers), jar, true, "acme");

        assertThat(report.admitted()).isTrue();
        assertThat(report.reported()).extracting(Finding::rule).containsExactly("environment");
    }

    @Test
    void aZipBombIsRefusedNotAnOutOfMemoryError() {
        byte[] manifestOnly = Jar.plugin("acme.bomb", "1.0.0", "acme").bytes();
        var descriptor = PluginDescriptors.read(manifestOnly);
        byte[] bomb = TestClasses.bomb("lib/bomb.jar", 256L << 20);

        AdmissionReport report = new AdmissionService(new Fixed(defaults()),
                new BytecodeScanner.Limits(1000, 1000, 32L << 20, 1 << 20, 2, 25), temp)
                .admit(bomb, new AdmissionRequest(descriptor, true, "acme", true));

        assertThat(report.admitted()).isFalse();
        assertThat(report.refusals()).extracting(Finding::rule).contains("manifest", "scan-limit");
    }

    @Test
    void aSubclassOfThreadIsFoundThroughItsConstructor() {
        byte[] jar = Jar.plugin("acme.sub", "1.0.0", "acme").clazz("acme/Worker", TestClasses.calling("acme/Worker",
                INVOKESPECIAL, "java/lang/Thread", "<init>", "()V")).bytes();

        AdmissionReport report = admit(defaults(), jar, true, "acme");

        assertThat(report.refusals()).extracting(Finding::target).containsExactly("new java.lang.Thread()");
    }
}
