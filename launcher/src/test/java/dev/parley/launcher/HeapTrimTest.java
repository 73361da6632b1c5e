package dev.parley.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class HeapTrimTest {
    /** A clock that moves 100 ms per reading, and a CPU counter that follows a script per reading. */
    private static final long STEP = 100_000_000L;

    @Test
    void settlesAfterTwoQuietIntervals() throws InterruptedException {
        var clock = new AtomicLong();
        long[] cpuPerStep = {0, 90, 80, 5, 5};
        var cpu = new AtomicLong();
        var reads = new AtomicLong();
        boolean settled = HeapTrim.waitUntilSettled(() -> {
            int i = (int) Math.min(reads.getAndIncrement(), cpuPerStep.length - 1);
            return cpu.addAndGet(cpuPerStep[i] * 1_000_000L);
        }, () -> clock.addAndGet(STEP), 0, 10_000);
        assertThat(settled).isTrue();
        assertThat(reads.get()).isEqualTo(5);
    }

    @Test
    void aBusyProcessNeverSettles() throws InterruptedException {
        var clock = new AtomicLong();
        var cpu = new AtomicLong();
        boolean settled = HeapTrim.waitUntilSettled(() -> cpu.addAndGet(50_000_000L), () -> clock.addAndGet(STEP), 0,
                2_000);
        assertThat(settled).isFalse();
    }

    @Test
    void noCpuTimeMeansNoTrim() throws InterruptedException {
        var clock = new AtomicLong();
        assertThat(HeapTrim.waitUntilSettled(() -> -1, () -> clock.addAndGet(STEP), 0, 2_000)).isFalse();
    }
}
