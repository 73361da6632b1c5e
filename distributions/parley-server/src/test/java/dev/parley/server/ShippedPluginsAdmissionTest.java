package dev.parley.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.registry.PluginDescriptor;
import dev.parley.registry.PluginDescriptors;
import dev.parley.sandbox.AdmissionReport;
import dev.parley.sandbox.AdmissionRequest;
import dev.parley.sandbox.PluginAdmission;
import dev.parley.sandbox.Tier;
import dev.parley.sandbox.internal.AdmissionService;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every plugin this server ships (the jars under {@code plugins/} in its jar) is admitted by the sandbox policy the
 * server ships, as the distribution's publisher: the trusted tier, with its full bytecode scan. Prints how long each
 * scan took, how many classes it read and what it reported.
 */
class ShippedPluginsAdmissionTest {
    @TempDir
    Path temp;

    @Test
    void everyShippedPluginIsAdmittedAsTrusted() throws Exception {
        List<Path> jars;
        try (Stream<Path> files = Files.list(Path.of("target", "classes", "plugins"))) {
            jars = files.filter(p -> p.toString().endsWith(".jar")).sorted().toList();
        }
        assertThat(jars).as("the shipped plugin jars").hasSizeGreaterThanOrEqualTo(7);
        PluginAdmission admission = AdmissionService.withShippedPolicy(temp);
        List<String> refused = new ArrayList<>();
        long totalMs = 0;
        int totalClasses = 0;
        for (Path jar : jars) {
            byte[] bytes = Files.readAllBytes(jar);
            PluginDescriptor d = PluginDescriptors.read(bytes);
            long started = System.nanoTime();
            AdmissionReport report = admission.admit(bytes, new AdmissionRequest(d, true, d.publisher(), true));
            long ms = (System.nanoTime() - started) / 1_000_000;
            totalMs += ms;
            totalClasses += report.scan().classes();
            System.out.printf("admission %-28s %6.1f MiB %6d classes %3d jars scan %5d ms (admission %5d ms) "
                    + "tier=%s admitted=%s reported=%s%n", jar.getFileName(), bytes.length / 1048576.0,
                    report.scan().classes(), report.scan().jars(), report.scan().millis(), ms,
                    report.tier() == null ? null : report.tier().slug(), report.admitted(), report.reportedCount());
            assertThat(report.tier()).as(jar + " tier").isEqualTo(Tier.TRUSTED);
            assertThat(report.scan().done()).isTrue();
            if (!report.admitted()) {
                refused.add(jar.getFileName() + ": " + report.reason(10));
            }
        }
        System.out.printf("admission of %d shipped plugins: %d classes in %d ms%n", jars.size(), totalClasses, totalMs);
        assertThat(refused).as("shipped plugins the shipped policy refuses").isEmpty();
    }
}
