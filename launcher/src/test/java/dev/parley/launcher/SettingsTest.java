package dev.parley.launcher;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SettingsTest {
    @Test
    void defaultsNeedNoEnvironment() {
        var s = Settings.from(Map.of());
        assertThat(s.httpPort()).isEqualTo(8080);
        assertThat(s.httpHost()).isEqualTo("127.0.0.1");
        assertThat(s.dataDir()).isEqualTo(Path.of("data").toAbsolutePath());
        assertThat(s.frameworkProperties())
                .containsEntry("org.osgi.service.http.port", "8080")
                .containsEntry("org.apache.felix.jakarta.websocket.enable", "true")
                .containsEntry("parley.data.dir", Path.of("data").toAbsolutePath().toString());
    }

    @Test
    void environmentOverrides() {
        var s = Settings.from(Map.of("PARLEY_HTTP_PORT", "9091", "PARLEY_HTTP_HOST", "0.0.0.0", "PARLEY_DATA_DIR", "/tmp/p"));
        assertThat(s.frameworkProperties())
                .containsEntry("org.osgi.service.http.port", "9091")
                .containsEntry("org.apache.felix.http.host", "0.0.0.0")
                .containsEntry("org.osgi.framework.storage", Path.of("/tmp/p/felix-cache").toString());
    }

    @Test
    void badValuesAreRejectedWithTheVariableName() {
        assertThatThrownBy(() -> Settings.from(Map.of("PARLEY_HTTP_PORT", "eighty")))
                .hasMessageContaining("PARLEY_HTTP_PORT").hasMessageContaining("eighty");
        assertThatThrownBy(() -> Settings.from(Map.of("PARLEY_HTTP_PORT", "70000")))
                .hasMessageContaining("between 0 and 65535");
        assertThatThrownBy(() -> Settings.from(Map.of("PARLEY_SHUTDOWN_TIMEOUT_SECONDS", "0")))
                .hasMessageContaining("PARLEY_SHUTDOWN_TIMEOUT_SECONDS");
    }
}
