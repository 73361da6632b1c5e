package dev.parley.logback;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.OutputStreamAppender;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.slf4j.MDC;

class ConsoleLogTest {
    static final ObjectMapper JSON = new ObjectMapper();

    final LoggerContext context = newContext();
    final ByteArrayOutputStream out = new ByteArrayOutputStream();

    /** A context of its own, sharing the MDC that SLF4J's MDC class writes to. */
    static LoggerContext newContext() {
        var context = new LoggerContext();
        context.setMDCAdapter(MDC.getMDCAdapter());
        return context;
    }

    @AfterEach
    void stop() {
        MDC.clear();
        context.stop();
    }

    void configure(Map<String, String> env) {
        var appender = new OutputStreamAppender<ILoggingEvent>();
        appender.setOutputStream(out);
        ConsoleLog.configure(context, LogSettings.from(env), appender, false);
    }

    List<String> lines() {
        return out.toString(StandardCharsets.UTF_8).lines().toList();
    }

    List<JsonNode> jsonLines() throws Exception {
        var nodes = new ArrayList<JsonNode>();
        for (String line : lines()) {
            nodes.add(JSON.readTree(line));
        }
        return nodes;
    }

    @Test
    void jsonModeWritesOneObjectPerLineWithLogstashFieldNames() throws Exception {
        configure(Map.of("PARLEY_LOG_FORMAT", "json"));
        Instant before = Instant.now();
        context.getLogger("dev.parley.core.Example").info("turn completed model={}", "m\"1\n2");

        List<String> lines = lines();
        assertThat(lines).hasSize(1);
        JsonNode line = JSON.readTree(lines.get(0));
        assertThat(fieldNames(line)).containsExactlyInAnyOrder("@timestamp", "level", "logger_name", "thread_name",
                "message", "service");
        assertThat(line.get("@timestamp").asText()).matches("\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{3}Z");
        assertThat(Instant.parse(line.get("@timestamp").asText()))
                .isBetween(before.truncatedTo(ChronoUnit.MILLIS), Instant.now());
        assertThat(line.get("level").asText()).isEqualTo("INFO");
        assertThat(line.get("logger_name").asText()).isEqualTo("dev.parley.core.Example");
        assertThat(line.get("thread_name").asText()).isEqualTo(Thread.currentThread().getName());
        // Quotes and newlines in a message are escaped by the encoder: still one line, the message intact.
        assertThat(line.get("message").asText()).isEqualTo("turn completed model=m\"1\n2");
        assertThat(line.get("service").asText()).isEqualTo("parley");
    }

    @Test
    void everyMdcEntryIsATopLevelField() throws Exception {
        configure(Map.of("PARLEY_LOG_FORMAT", "JSON"));
        MDC.put("trace_id", "4bf92f3577b34da6a3ce929d0e0e4736");
        MDC.put("span_id", "00f067aa0ba902b7");
        MDC.put("request_id", "req-1");
        MDC.put("tenant_id", "t-1");
        MDC.put("user_id", "u-1");
        context.getLogger("x").warn("with context");
        MDC.clear();
        context.getLogger("x").warn("without");

        List<JsonNode> lines = jsonLines();
        assertThat(lines.get(0).get("trace_id").asText()).isEqualTo("4bf92f3577b34da6a3ce929d0e0e4736");
        assertThat(lines.get(0).get("span_id").asText()).isEqualTo("00f067aa0ba902b7");
        assertThat(lines.get(0).get("request_id").asText()).isEqualTo("req-1");
        assertThat(lines.get(0).get("tenant_id").asText()).isEqualTo("t-1");
        assertThat(lines.get(0).get("user_id").asText()).isEqualTo("u-1");
        assertThat(lines.get(0).get("level").asText()).isEqualTo("WARN");
        assertThat(lines.get(1).has("trace_id")).isFalse();
        assertThat(fieldNames(lines.get(1))).doesNotContain("mdc");
    }

    @Test
    void aThrowableIsOneStackTraceStringOnlyWhenThereIsOne() throws Exception {
        configure(Map.of("PARLEY_LOG_FORMAT", "json"));
        context.getLogger("x").error("store failed", new IllegalStateException("boom", new RuntimeException("root")));
        context.getLogger("x").error("no throwable");

        List<String> lines = lines();
        assertThat(lines).hasSize(2);
        JsonNode failed = JSON.readTree(lines.get(0));
        assertThat(failed.get("stack_trace").isTextual()).isTrue();
        assertThat(failed.get("stack_trace").asText()).startsWith("java.lang.IllegalStateException: boom")
                .contains("\tat dev.parley.logback.ConsoleLogTest").contains("Caused by: java.lang.RuntimeException: root");
        assertThat(JSON.readTree(lines.get(1)).has("stack_trace")).isFalse();
    }

    @Test
    void textModeIsOneReadableLinePerEvent() {
        configure(Map.of());
        context.getLogger("dev.parley.store.Example").info("store ready dialect={}", "h2");

        assertThat(lines()).singleElement().asString()
                .matches("\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{3}Z \\[" + Thread.currentThread().getName()
                        + "] INFO dev.parley.store.Example - store ready dialect=h2");
    }

    @Test
    void theRootLevelIsInfoUnlessTheEnvironmentSaysOtherwise() {
        configure(Map.of());
        context.getLogger("a.b").debug("hidden");
        context.getLogger("a.b").info("shown");
        assertThat(lines()).singleElement().asString().endsWith("shown");

        var other = newContext();
        var appender = new OutputStreamAppender<ILoggingEvent>();
        var warnOnly = new ByteArrayOutputStream();
        appender.setOutputStream(warnOnly);
        ConsoleLog.configure(other, LogSettings.from(Map.of("PARLEY_LOG_LEVEL", "warn")), appender, false);
        other.getLogger("a.b").info("hidden");
        other.getLogger("a.b").warn("shown");
        assertThat(warnOnly.toString(StandardCharsets.UTF_8).lines()).singleElement().asString().endsWith("shown");
        other.stop();
    }

    @Test
    void chattyThirdPartyLoggersStartQuiet() {
        configure(Map.of());
        assertThat(context.getLogger("org.apache.aries.spifly").getLevel()).isEqualTo(Level.WARN);
        assertThat(context.getLogger("org.glassfish.jersey.server.wadl.WadlFeature").getLevel()).isEqualTo(Level.ERROR);
        context.getLogger("org.apache.aries.spifly.BaseActivator").info("weaving");
        assertThat(lines()).isEmpty();
    }

    @Test
    void javaUtilLoggingFollowsLogbacksLevels() {
        var appender = new OutputStreamAppender<ILoggingEvent>();
        appender.setOutputStream(out);
        var julRoot = java.util.logging.Logger.getLogger("");
        java.util.logging.Level before = julRoot.getLevel();
        try {
            ConsoleLog.configure(context, LogSettings.from(Map.of()), appender, true);
            // Quiet defaults and the root level reach java.util.logging, so records below them are never created.
            assertThat(julRoot.getLevel()).isEqualTo(java.util.logging.Level.INFO);
            assertThat(java.util.logging.Logger.getLogger("org.apache.aries.spifly").getLevel())
                    .isEqualTo(java.util.logging.Level.WARNING);
            // ... and so does a change at run time.
            context.getLogger("org.glassfish.jersey.server").setLevel(Level.DEBUG);
            assertThat(java.util.logging.Logger.getLogger("org.glassfish.jersey.server").isLoggable(
                    java.util.logging.Level.FINE)).isTrue();
            context.getLogger("org.glassfish.jersey.server").setLevel(null);
            assertThat(java.util.logging.Logger.getLogger("org.glassfish.jersey.server").isLoggable(
                    java.util.logging.Level.FINE)).isFalse();
        } finally {
            julRoot.setLevel(before);
        }
    }

    private static List<String> fieldNames(JsonNode node) {
        var names = new ArrayList<String>();
        node.fieldNames().forEachRemaining(names::add);
        return names;
    }
}
