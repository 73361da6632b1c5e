package dev.parley.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;
import org.osgi.framework.launch.Framework;
import org.osgi.framework.launch.FrameworkFactory;

class FrameworkLogTest {
    @Test
    void felixRecordsGoToJavaUtilLoggingAtTheMatchingLevel() {
        List<LogRecord> records = new ArrayList<>();
        Handler capture = new Handler() {
            @Override
            public void publish(LogRecord record) {
                records.add(record);
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        Logger felix = Logger.getLogger(FrameworkLog.LOGGER);
        felix.addHandler(capture);
        felix.setUseParentHandlers(false);
        try {
            var log = new FrameworkLog();
            var error = new IllegalStateException("bad bundle");
            log.log(FrameworkLog.LOG_ERROR, "Error starting bundle", error);
            // Felix's own level still filters: errors only, unless felix.log.level says more.
            log.log(FrameworkLog.LOG_WARNING, "hidden");
            log.setLogLevel(FrameworkLog.LOG_DEBUG);
            log.log(FrameworkLog.LOG_WARNING, "a warning");
            assertThat(records).hasSize(2);
            assertThat(records.get(0).getLevel()).isEqualTo(Level.SEVERE);
            assertThat(records.get(0).getMessage()).isEqualTo("Error starting bundle");
            assertThat(records.get(0).getThrown()).isSameAs(error);
            assertThat(records.get(1).getLevel()).isEqualTo(Level.WARNING);
        } finally {
            felix.removeHandler(capture);
            felix.setUseParentHandlers(true);
        }
        assertThat(FrameworkLog.level(3)).isEqualTo(Level.INFO);
        assertThat(FrameworkLog.level(4)).isEqualTo(Level.FINE);
    }

    @Test
    void felixIsHandedTheLoggerBesideItsProperties() throws Exception {
        FrameworkFactory felix = ServiceLoader.load(FrameworkFactory.class).findFirst().orElseThrow();
        Map<String, ?> all = Main.withFrameworkLog(felix, Map.of("org.osgi.framework.storage", "/tmp/x"));
        assertThat(all.get("org.osgi.framework.storage")).isEqualTo("/tmp/x");
        assertThat(all.get("felix.log.logger")).isInstanceOf(FrameworkLog.class);

        FrameworkFactory other = props -> (Framework) null;
        assertThat(Main.withFrameworkLog(other, Map.of("a", "b"))).isEqualTo(Map.of("a", "b"));
    }
}
