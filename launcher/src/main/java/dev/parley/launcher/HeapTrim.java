package dev.parley.launcher;

import com.sun.management.HotSpotDiagnosticMXBean;
import com.sun.management.OperatingSystemMXBean;
import com.sun.management.VMOption;
import java.lang.management.ManagementFactory;
import java.util.function.LongSupplier;

/**
 * Gives back, once the start-up has settled, the heap that starting touched. Starting Parley allocates a few hundred
 * MB of short-lived objects (class loading, bundle and component set-up, the Jersey build), so the collector commits
 * and touches 100–120 MB of heap that the idle server (25–35 MB live) never uses again; with the default
 * {@code MaxHeapFreeRatio} of 70 no collection gives it back. Once the process has used little CPU for a while (the
 * REST whiteboard has built its application, nothing else is starting), this lowers the free-ratio bounds, runs one
 * full collection so the heap shrinks to what is live, and puts the bounds back: under load the heap grows again as
 * the collector needs it. Nothing is done when the user set either ratio (their choice), nor with
 * {@code -XX:+DisableExplicitGC} (the collection would not happen); {@code -Xms} keeps its floor as always.
 */
final class HeapTrim {
    /** CPU use (share of one core) below which the process counts as settled. */
    static final double SETTLED_CPU_SHARE = 0.10;
    static final long INTERVAL_MILLIS = 500;
    /** Settled for this many intervals in a row. */
    static final int SETTLED_INTERVALS = 2;
    /** Give up when the process never settles (a busy server needs no trim). */
    static final long GIVE_UP_MILLIS = 120_000;

    private HeapTrim() {
    }

    /** Starts a daemon thread that trims the heap once, after the process has settled. */
    static void afterStartSettles() {
        HotSpotDiagnosticMXBean vm;
        LongSupplier cpuNanos;
        try {
            vm = ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
            var os = ManagementFactory.getOperatingSystemMXBean();
            if (vm == null || !(os instanceof OperatingSystemMXBean hotspotOs) || !userLeftDefaults(vm)) {
                return;
            }
            cpuNanos = hotspotOs::getProcessCpuTime;
        } catch (RuntimeException | LinkageError e) {
            return; // not a HotSpot VM, or no jdk.management: leave the heap to the collector
        }
        Thread t = new Thread(() -> {
            try {
                if (waitUntilSettled(cpuNanos, System::nanoTime, INTERVAL_MILLIS, GIVE_UP_MILLIS)) {
                    trim(vm);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "parley-heap-trim");
        t.setDaemon(true);
        t.setPriority(Thread.MIN_PRIORITY);
        t.start();
    }

    static boolean userLeftDefaults(HotSpotDiagnosticMXBean vm) {
        return vm.getVMOption("MinHeapFreeRatio").getOrigin() == VMOption.Origin.DEFAULT
                && vm.getVMOption("MaxHeapFreeRatio").getOrigin() == VMOption.Origin.DEFAULT
                && !Boolean.parseBoolean(vm.getVMOption("DisableExplicitGC").getValue());
    }

    /**
     * Samples the process CPU time every {@code intervalMillis}; true once it grew by less than
     * {@link #SETTLED_CPU_SHARE} of the interval {@link #SETTLED_INTERVALS} times in a row, false after
     * {@code giveUpMillis}.
     */
    static boolean waitUntilSettled(LongSupplier cpuNanos, LongSupplier clockNanos, long intervalMillis,
            long giveUpMillis) throws InterruptedException {
        long start = clockNanos.getAsLong();
        long lastCpu = cpuNanos.getAsLong();
        long lastClock = start;
        int settled = 0;
        while (clockNanos.getAsLong() - start < giveUpMillis * 1_000_000L) {
            Thread.sleep(intervalMillis);
            long cpu = cpuNanos.getAsLong();
            long clock = clockNanos.getAsLong();
            if (cpu < 0) {
                return false; // CPU time not supported here
            }
            settled = cpu - lastCpu < SETTLED_CPU_SHARE * (clock - lastClock) ? settled + 1 : 0;
            if (settled >= SETTLED_INTERVALS) {
                return true;
            }
            lastCpu = cpu;
            lastClock = clock;
        }
        return false;
    }

    private static void trim(HotSpotDiagnosticMXBean vm) {
        String min = vm.getVMOption("MinHeapFreeRatio").getValue();
        String max = vm.getVMOption("MaxHeapFreeRatio").getValue();
        try {
            // Min must stay <= Max at every step.
            vm.setVMOption("MinHeapFreeRatio", "5");
            vm.setVMOption("MaxHeapFreeRatio", "10");
            System.gc();
        } catch (RuntimeException e) {
            // a VM that refuses the values: the collection alone does no harm
        } finally {
            try {
                vm.setVMOption("MaxHeapFreeRatio", max);
                vm.setVMOption("MinHeapFreeRatio", min);
            } catch (RuntimeException ignored) {
                // the values came from this VM; nothing sensible is left to do
            }
        }
    }
}
