package dev.parley.sandbox.hooks.internal;

import dev.parley.sandbox.hooks.runtime.CallChecks;
import dev.parley.sandbox.hooks.runtime.PluginChecks;
import java.io.IOException;
import java.io.InputStream;
import java.util.concurrent.TimeUnit;
import java.util.function.ToLongFunction;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What the check woven before every turn of a loop in a plugin's classes costs (ADR 30 point 10): a loop summing 1,024
 * ints, as compiled ({@code plain}), woven while no plugin was stopped lately ({@code woven}: one volatile read per
 * turn), and woven within the 10 s after some plugin's stop ({@code wovenAfterAStop}: each turn asks the checks, which
 * find the loop's plugin running). The woven class is the weaver's output for {@link Summer}, defined by a class loader
 * of its own, as a plugin's would be.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 10, time = 1)
@Fork(2)
public class LoopCheckBenchmark {
    static final String TOKEN = "bench-token";

    /** Plugin-like code: a counted loop over an array. */
    public static final class Summer implements ToLongFunction<int[]> {
        @Override
        public long applyAsLong(int[] values) {
            long sum = 0;
            for (int i = 0; i < values.length; i++) {
                sum += values[i];
            }
            return sum;
        }
    }

    @State(Scope.Thread)
    public static class Data {
        final int[] values = new int[1024];

        @Setup
        public void fill() {
            for (int i = 0; i < values.length; i++) {
                values[i] = i * 31;
            }
        }
    }

    @State(Scope.Benchmark)
    public static class Plain {
        ToLongFunction<int[]> summer = new Summer();
    }

    @State(Scope.Benchmark)
    public static class Woven {
        ToLongFunction<int[]> summer;

        @Setup(Level.Trial)
        public void weave() throws Exception {
            summer = woven();
            PluginChecks.install((kind, target, detail, call, token) -> { });
            PluginChecks.stopping(false);
        }

        @TearDown(Level.Trial)
        public void uninstall() {
            PluginChecks.install(null);
        }
    }

    @State(Scope.Benchmark)
    public static class WovenAfterAStop {
        ToLongFunction<int[]> summer;

        @Setup(Level.Trial)
        public void weave() throws Exception {
            summer = woven();
            // The checks as RuntimeEnforcement answers for a running plugin: a map look-up, then on.
            java.util.Map<String, String> stopped = new java.util.concurrent.ConcurrentHashMap<>();
            stopped.put("some-other-plugin", "other");
            PluginChecks.install(new CallChecks() {
                @Override
                public void check(dev.parley.sandbox.hooks.runtime.CheckKind kind, Object target, Object detail,
                        String call, String token) {
                }

                @Override
                public void loop(String token) {
                    if (stopped.get(token) != null) {
                        throw new IllegalStateException("stopped");
                    }
                }
            });
            PluginChecks.stopping(true);
        }

        @TearDown(Level.Trial)
        public void uninstall() {
            PluginChecks.stopping(false);
            PluginChecks.install(null);
        }
    }

    @SuppressWarnings("unchecked")
    static ToLongFunction<int[]> woven() throws Exception {
        byte[] original;
        String name = Summer.class.getName();
        try (InputStream in = Summer.class.getResourceAsStream("/" + name.replace('.', '/') + ".class")) {
            original = in.readAllBytes();
        }
        byte[] woven = CallSiteWeaver.weave(original, TOKEN);
        if (woven == null) {
            throw new IOException("the loop was not woven");
        }
        ClassLoader loader = new ClassLoader(LoopCheckBenchmark.class.getClassLoader()) {
            @Override
            protected Class<?> loadClass(String n, boolean resolve) throws ClassNotFoundException {
                if (n.equals(name)) {
                    synchronized (getClassLoadingLock(n)) {
                        Class<?> c = findLoadedClass(n);
                        return c != null ? c : defineClass(n, woven, 0, woven.length);
                    }
                }
                return super.loadClass(n, resolve);
            }
        };
        return (ToLongFunction<int[]>) loader.loadClass(name).getDeclaredConstructor().newInstance();
    }

    @Benchmark
    public long plain(Plain p, Data d) {
        return p.summer.applyAsLong(d.values);
    }

    @Benchmark
    public long woven(Woven w, Data d) {
        return w.summer.applyAsLong(d.values);
    }

    @Benchmark
    public long wovenAfterAStop(WovenAfterAStop w, Data d) {
        return w.summer.applyAsLong(d.values);
    }
}
