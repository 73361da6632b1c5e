package dev.parley.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import sun.misc.Signal;

/** A stop signal is marked for the plugin runtime before the JVM's own handling runs. */
class StopSignalsTest {
    @AfterEach
    void clear() {
        System.clearProperty(StopSignals.PROPERTY);
    }

    @Test
    void aHangUpIsMarkedAsAStopAskedForAndHandledAsBefore() throws Exception {
        // HUP: the one stop signal whose default handling this test can replace without ending the test JVM.
        var seen = new java.util.concurrent.CountDownLatch(1);
        Signal.handle(new Signal("HUP"), s -> seen.countDown());
        StopSignals.install();
        assertThat(System.getProperty(StopSignals.PROPERTY)).isNull();

        Signal.raise(new Signal("HUP"));

        assertThat(seen.await(10, java.util.concurrent.TimeUnit.SECONDS)).as("the handler before ours ran").isTrue();
        assertThat(System.getProperty(StopSignals.PROPERTY)).isEqualTo("SIGHUP");
    }
}
