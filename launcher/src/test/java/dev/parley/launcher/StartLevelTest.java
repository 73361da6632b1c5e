package dev.parley.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class StartLevelTest {
    @Test
    void webStopsFirstAndTheStoreAfterCore() {
        assertThat(Main.startLevel("org.apache.aries.spifly.dynamic.bundle")).isEqualTo(Main.LEVEL_EARLY);
        assertThat(Main.startLevel("org.apache.felix.http.jetty12")).isEqualTo(Main.LEVEL_PLATFORM);
        assertThat(Main.startLevel("dev.parley.db")).isEqualTo(Main.LEVEL_STORE);
        assertThat(Main.startLevel("dev.parley.store.jdbc")).isEqualTo(Main.LEVEL_STORE);
        assertThat(Main.startLevel("dev.parley.core")).isEqualTo(Main.LEVEL_CORE);
        assertThat(Main.startLevel("dev.parley.provider.openai")).isEqualTo(Main.LEVEL_PLUGINS);
        assertThat(Main.startLevel("dev.parley.web.rest")).isEqualTo(Main.LEVEL_WEB);
        assertThat(Main.LEVEL_WEB).isGreaterThan(Main.LEVEL_PLUGINS);
        assertThat(Main.LEVEL_PLUGINS).isGreaterThan(Main.LEVEL_CORE);
        assertThat(Main.LEVEL_CORE).isGreaterThan(Main.LEVEL_STORE);
        assertThat(Main.LEVEL_STORE).isGreaterThan(Main.LEVEL_PLATFORM);
    }

    @Test
    void theLoggingBackendStartsBeforeAnythingThatLogs() {
        assertThat(Main.startLevel("ch.qos.logback.classic")).isEqualTo(Main.LEVEL_EARLY);
        assertThat(Main.startLevel("ch.qos.logback.core")).isEqualTo(Main.LEVEL_EARLY);
        assertThat(Main.startLevel("slf4j.api")).isEqualTo(Main.LEVEL_EARLY);
        assertThat(Main.startLevel("jul.to.slf4j")).isEqualTo(Main.LEVEL_EARLY);
        assertThat(Main.startLevel("slf4j.simple")).isEqualTo(Main.LEVEL_PLATFORM);
    }

    @Test
    void thePluginSandboxsHooksAreInPlaceBeforeAnyPluginOrThePluginRuntimeStarts() {
        assertThat(Main.startLevel("dev.parley.sandbox.hooks")).isEqualTo(Main.LEVEL_EARLY);
        assertThat(Main.startLevel("dev.parley.plugins")).isGreaterThan(Main.LEVEL_EARLY);
        assertThat(Main.LEVEL_PLUGINS).isGreaterThan(Main.LEVEL_EARLY);
    }
}
