package dev.parley.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import tools.jackson.databind.node.ObjectNode;

/** k8s/rendered is what k8s/render.sh makes of the chart's defaults, and `kubectl kustomize` builds it. */
class RenderedManifestsTest {

    private static final Path RENDERED = Tools.repo().resolve("k8s/rendered");

    private static Map<String, String> tree(Path dir) throws IOException {
        Map<String, String> files = new TreeMap<>();
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.filter(Files::isRegularFile).toList()) {
                files.put(dir.relativize(p).toString(), Files.readString(p));
            }
        }
        return files;
    }

    private static Map<String, String> render(Path out) {
        Tools.Result r = Tools.run(List.of("bash", Tools.repo().resolve("k8s/render.sh").toString(), out.toString()),
                null, Map.of("HELM", Tools.helm()), false);
        assertThat(r.exitCode()).as(r.describe()).isZero();
        try {
            return tree(out);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void theCommittedManifestsAreWhatTheChartRenders(@TempDir Path tmp) throws IOException {
        Map<String, String> fresh = render(tmp.resolve("rendered"));
        Map<String, String> committed = tree(RENDERED);
        assertThat(committed.keySet()).as("files under k8s/rendered (run k8s/render.sh)").isEqualTo(fresh.keySet());
        for (String file : fresh.keySet()) {
            assertThat(committed.get(file)).as("k8s/rendered/%s is stale: run k8s/render.sh", file)
                    .isEqualTo(fresh.get(file));
        }
    }

    @Test
    void aChangedFileIsNoticed(@TempDir Path tmp) throws IOException {
        Map<String, String> fresh = render(tmp.resolve("rendered"));
        Path deployment = tmp.resolve("rendered/parley/templates/deployment.yaml");
        Files.writeString(deployment, Files.readString(deployment).replace("maxUnavailable: 0", "maxUnavailable: 1"));
        assertThat(tree(tmp.resolve("rendered"))).isNotEqualTo(fresh);
    }

    @Test
    void kustomizeBuildsTheSameObjectsAsTheChart() {
        Tools.Result r = Tools.run(List.of(Tools.kubectl(), "kustomize", RENDERED.toString()));
        assertThat(r.exitCode()).as(r.describe()).isZero();
        List<ObjectNode> built = Manifests.parse(r.stdout());
        Set<String> builtIds = new TreeSet<>();
        built.forEach(o -> builtIds.add(Manifests.id(o)));
        Set<String> chartIds = new TreeSet<>();
        Chart.render("default").forEach(o -> chartIds.add(Manifests.id(o)));
        assertThat(builtIds).isEqualTo(chartIds);
        assertThat(built).allSatisfy(o -> assertThat(o.path("metadata").path("namespace").asString())
                .isEqualTo("parley"));
        assertThat(Policy.check(built)).isEmpty();
    }
}
