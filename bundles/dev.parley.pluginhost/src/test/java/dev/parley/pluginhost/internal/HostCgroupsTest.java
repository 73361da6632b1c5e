package dev.parley.pluginhost.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.pluginhost.HostLimits;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link HostCgroups} on file trees laid out like cgroup v1 and v2 mounts. */
class HostCgroupsTest {
    static final HostLimits LIMITS = new HostLimits(256, 500, 16, 90);

    @TempDir
    Path root;

    @Test
    void v1PutsTheHostUnderTheServersOwnCgroupOfEachHierarchyWithItsLimits() throws IOException {
        for (String c : new String[] {"cpu", "pids", "memory"}) {
            hierarchy(root.resolve(c));
        }
        Files.createDirectories(root.resolve("memory/machine/slice"));
        Path self = self("4:memory:/machine/slice\n8:pids:/\n1:cpu,cpuacct:/\n0::/\n");

        HostCgroups.Placement p = new HostCgroups(root, "parley-pluginhost", self, true).create("echo-1", LIMITS);

        assertThat(p.applied()).isTrue();
        assertThat(p.summary()).isEqualTo("cgroups=v1 cpu,pids,memory cpu.cfs_quota_us=50000/100000 pids.max=90 "
                + "memory.limit_in_bytes=" + (512L << 20));
        assertThat(p.path()).isEqualTo("/parley-pluginhost/echo-1");
        assertThat(root.resolve("cpu/parley-pluginhost/echo-1/cpu.cfs_quota_us")).hasContent("50000");
        assertThat(root.resolve("cpu/parley-pluginhost/echo-1/cpu.cfs_period_us")).hasContent("100000");
        assertThat(root.resolve("pids/parley-pluginhost/echo-1/pids.max")).hasContent("90");
        assertThat(root.resolve("memory/machine/slice/parley-pluginhost/echo-1/memory.limit_in_bytes"))
                .hasContent(Long.toString(512L << 20));
        assertThat(p.procs()).containsExactly(root.resolve("cpu/parley-pluginhost/echo-1/cgroup.procs"),
                root.resolve("pids/parley-pluginhost/echo-1/cgroup.procs"),
                root.resolve("memory/machine/slice/parley-pluginhost/echo-1/cgroup.procs"));

        // A second host of the same name (a leftover) gets a name of its own.
        assertThat(new HostCgroups(root, "parley-pluginhost", self, true).create("echo-1", LIMITS).path())
                .isEqualTo("/parley-pluginhost/echo-1.2");
    }

    @Test
    void anAbsoluteParentIsTakenFromTheHierarchysRoot() throws IOException {
        hierarchy(root.resolve("pids"));
        Path self = self("8:pids:/some/where\n");
        HostCgroups.Placement p = new HostCgroups(root, "/parley/hosts", self, true).create("x-3", LIMITS);
        assertThat(p.path()).isEqualTo("/parley/hosts/x-3");
        assertThat(root.resolve("pids/parley/hosts/x-3/pids.max")).hasContent("90");
    }

    @Test
    void aControllerThatCannotBeUsedIsLeftOutAndNamed() throws IOException {
        hierarchy(root.resolve("pids"));
        hierarchy(root.resolve("cpu"));
        Path self = self("8:pids:/\n1:cpu:/\n");

        HostCgroups.Placement p = new HostCgroups(root, "parley-pluginhost", self, true).create("a-1", LIMITS);

        assertThat(p.summary()).startsWith("cgroups=v1 cpu,pids cpu.cfs_quota_us=50000/100000 pids.max=90 "
                + "not-applied=\"memory (no v1 hierarchy at ").endsWith("memory)\"");
    }

    @Test
    void withoutAnyHierarchyTheJvmLimitsHoldAndTheReasonIsGiven() throws IOException {
        Path self = self("0::/\n");
        HostCgroups.Placement p = new HostCgroups(root, "parley-pluginhost", self, true).create("a-1", LIMITS);
        assertThat(p.applied()).isFalse();
        assertThat(p.path()).isNull();
        assertThat(p.summary()).startsWith("cgroups=not-applied reason=\"no controller could be used: [cpu (no v1 "
                + "hierarchy at ");
    }

    @Test
    void turnedOffMeansNone() throws IOException {
        hierarchy(root.resolve("pids"));
        HostCgroups.Placement p = new HostCgroups(root, "parley-pluginhost", self("8:pids:/\n"), false)
                .create("a-1", LIMITS);
        assertThat(p.summary()).isEqualTo("cgroups=not-applied reason=\"turned off (cgroups=off)\"");
        assertThat(root.resolve("pids/parley-pluginhost")).doesNotExist();
    }

    @Test
    void aParentLeavingTheHierarchyIsRefused() throws IOException {
        hierarchy(root.resolve("pids"));
        HostCgroups.Placement p = new HostCgroups(root, "../../etc", self("8:pids:/\n"), true).create("a-1", LIMITS);
        assertThat(p.applied()).isFalse();
        assertThat(p.summary()).contains("may not contain '..'");
    }

    @Test
    void v2EnablesTheControllersDownToTheParentAndWritesTheLimits() throws IOException {
        Files.writeString(root.resolve("cgroup.controllers"), "cpuset cpu io memory pids\n");
        Files.writeString(root.resolve("cgroup.subtree_control"), "");
        Files.createDirectories(root.resolve("parley-pluginhost"));
        Files.writeString(root.resolve("parley-pluginhost/cgroup.subtree_control"), "cpu pids memory");

        HostCgroups.Placement p = new HostCgroups(root, "parley-pluginhost", self("0::/\n"), true)
                .create("echo-7", LIMITS);

        assertThat(p.summary()).isEqualTo("cgroups=v2 cpu,pids,memory cpu.max=50000 100000 pids.max=90 memory.max="
                + (512L << 20));
        assertThat(p.path()).isEqualTo("/parley-pluginhost/echo-7");
        assertThat(root.resolve("parley-pluginhost/echo-7/cpu.max")).hasContent("50000 100000");
        assertThat(root.resolve("parley-pluginhost/echo-7/pids.max")).hasContent("90");
        assertThat(root.resolve("parley-pluginhost/echo-7/memory.max")).hasContent(Long.toString(512L << 20));
        assertThat(root.resolve("cgroup.subtree_control")).as("enabled at the root, one controller a write")
                .hasContent("+memory");
        assertThat(p.procs()).containsExactly(root.resolve("parley-pluginhost/echo-7/cgroup.procs"));
    }

    @Test
    void v2WithoutTheControllersSaysSo() throws IOException {
        Files.writeString(root.resolve("cgroup.controllers"), "io\n");
        HostCgroups.Placement p = new HostCgroups(root, "parley-pluginhost", self("0::/\n"), true)
                .create("echo-7", LIMITS);
        assertThat(p.summary()).isEqualTo("cgroups=not-applied reason=\"cgroup v2 offers none of [cpu, pids, "
                + "memory]\"");
    }

    @Test
    void theCpuQuotaIsTheMillicoresOfAPeriodAndNeverBelowAMillisecond() {
        assertThat(HostCgroups.cpuQuota(new HostLimits(64, 2500, 1))).isEqualTo(250_000);
        assertThat(HostCgroups.cpuQuota(new HostLimits(64, 1, 1))).isEqualTo(1000);
    }

    private static void hierarchy(Path dir) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("tasks"), "");
        Files.writeString(dir.resolve("cgroup.procs"), "");
    }

    private Path self(String content) throws IOException {
        Path f = root.resolve("self-cgroup");
        Files.writeString(f, content);
        return f;
    }
}
