package dev.parley.provider.azure.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.openai.core.http.Headers;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import org.junit.jupiter.api.Test;

class DeploymentsTest {

    @Test
    void entriesMapModelsToDeploymentsAndABareNameIsBoth() {
        var d = Deployments.parse(new String[] {"gpt-4o=prod-4o", " gpt-4o-mini ", "a=b,c=d"}, false);
        assertThat(d.byModel()).containsExactly(java.util.Map.entry("gpt-4o", "prod-4o"),
                java.util.Map.entry("gpt-4o-mini", "gpt-4o-mini"), java.util.Map.entry("a", "b"),
                java.util.Map.entry("c", "d"));
        assertThat(d.deploymentOf("nope")).isNull();
    }

    @Test
    void embeddingEntriesMayCarryDimensions() {
        var d = Deployments.parse(new String[] {"text-embedding-3-small=emb:512", "ada=ada-002"}, true);
        assertThat(d.deploymentOf("text-embedding-3-small")).isEqualTo("emb");
        assertThat(d.dimensions()).containsExactly(java.util.Map.entry("text-embedding-3-small", 512));
        assertThatThrownBy(() -> Deployments.parse(new String[] {"m=emb:x"}, true))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Deployments.parse(new String[] {"m=dep/../../x"}, false))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Deployments.parse(new String[] {"=dep"}, false))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void retryAfterMsWinsThenSecondsThenAnHttpDate() {
        assertThat(AzureErrors.retryAfter(Headers.builder().put("retry-after-ms", "1500").put("retry-after", "2")
                .build())).isEqualTo(Duration.ofMillis(1500));
        assertThat(AzureErrors.retryAfter(Headers.builder().put("retry-after", "2").build()))
                .isEqualTo(Duration.ofSeconds(2));
        String inAMinute = ZonedDateTime.now(java.time.ZoneOffset.UTC).plusSeconds(60)
                .format(DateTimeFormatter.RFC_1123_DATE_TIME);
        assertThat(AzureErrors.retryAfter(Headers.builder().put("retry-after", inAMinute).build()))
                .isBetween(Duration.ofSeconds(50), Duration.ofSeconds(61));
        assertThat(AzureErrors.retryAfter(Headers.builder().put("retry-after", "soon").build())).isNull();
        assertThat(AzureErrors.retryAfter(Headers.builder().build())).isNull();
    }
}
