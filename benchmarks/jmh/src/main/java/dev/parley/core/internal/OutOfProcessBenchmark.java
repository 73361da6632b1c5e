package dev.parley.core.internal;

import java.lang.management.ManagementFactory;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import dev.parley.api.chat.ChatMessage;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatModelProvider;
import dev.parley.api.llm.ChatOptions;
import dev.parley.api.llm.ChatRequest;
import dev.parley.api.llm.ChatResponse;
import dev.parley.api.llm.ChatStreamHandler;
import dev.parley.api.llm.ModelDescriptor;
import dev.parley.jmh.oop.PluginHostRig;
import dev.parley.jmh.plugin.BenchProvider;

/**
 * One call into a provider plugin whose answer is {@value #WORDS} words produced at once ({@link BenchProvider}),
 * {@code answer} = {@code whole} (a non-stream call: {@code complete}, the whole answer in one callback) or
 * {@code stream} (each word a token, then the whole answer), made
 * <ul>
 * <li>{@code direct}: on the caller's thread, as core called plugins before the guard;</li>
 * <li>{@code guarded}: through {@link PluginGuard#start}, as {@link RoutedCall} makes it (ADR 28);</li>
 * <li>{@code outOfProcess}: on the proxy that the plugin's stand-in registers when the plugin runs in a plugin host
 * (ADR 31; {@link PluginHostRig}): the request goes as a frame over loopback to the host JVM, its agent calls the
 * plugin there, and each token and the answer come back as frames, read by the proxy's reader thread, which calls the
 * handler;</li>
 * <li>{@code outOfProcessGuarded}: the same through the guard, which is how the server calls such a plugin.</li>
 * </ul>
 * The caller waits for the answer each time. Each iteration counts this process's CPU time (every thread), the plugin
 * host's ({@code /proc/<pid>/stat}) and the calls made ({@link HostCpu}).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 8, time = 1)
@Fork(value = 2, jvmArgsAppend = {"-Xms256m", "-Xmx256m"})
@State(Scope.Benchmark)
public class OutOfProcessBenchmark {
    static final int WORDS = 32;
    static final String PROVIDER = "bench-oop";
    static final String MODEL = "bench-oop-model";
    private static final ChatRequest REQUEST = new ChatRequest(MODEL, List.of(ChatMessage.user("hello")),
            new ChatOptions(null, null, WORDS, List.of()), List.of());

    @Param({"whole", "stream"})
    public String answer;

    private final BenchProvider local = new BenchProvider(PROVIDER, MODEL);
    private PluginGuard guard;
    private PluginGuard.Registration<ModelDescriptor> registration;

    @Setup(Level.Trial)
    public void setUp() {
        guard = new PluginGuard(GuardSettings.DEFAULTS, false);
        registration = guard.register(new PluginGuard.PluginRef("bench-plugin", -1), local, local::id,
                local::models, "models()");
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        guard.unregister(registration);
        guard.deactivate();
    }

    /** The plugin in its host JVM, started once per fork for the out-of-process rows only. */
    @State(Scope.Benchmark)
    public static class Host {
        PluginHostRig rig;
        private PluginGuard guard;
        private PluginGuard.Registration<ModelDescriptor> registration;

        @Setup(Level.Trial)
        public void start() throws Exception {
            rig = PluginHostRig.start(PROVIDER, MODEL);
            ChatModelProvider proxy = rig.provider();
            guard = new PluginGuard(GuardSettings.DEFAULTS, false);
            registration = guard.register(new PluginGuard.PluginRef("bench-plugin", -1), proxy, proxy::id,
                    proxy::models, "models()");
        }

        @TearDown(Level.Trial)
        public void stop() throws Exception {
            guard.unregister(registration);
            guard.deactivate();
            if (!rig.sameHost()) {
                throw new IllegalStateException("the plugin host was restarted during the run: figures invalid");
            }
            rig.close();
        }
    }

    /** This process's CPU time, the plugin host's when there is one, and the calls made, per iteration. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.EVENTS)
    public static class HostCpu {
        private PluginHostRig rig;
        private long cpuStart;
        private long hostStart;
        private long counted;
        public long cpuNanos;
        public long hostCpuNanos;
        public long calls;

        @Setup(Level.Iteration)
        public void start(Host host) {
            rig = host.rig;
            counted = 0;
            hostStart = rig.hostCpuNanos();
            cpuStart = processCpuNanos();
        }

        @TearDown(Level.Iteration)
        public void stop() {
            cpuNanos = processCpuNanos() - cpuStart;
            hostCpuNanos = rig.hostCpuNanos() - hostStart;
            calls = counted;
        }

        void call() {
            counted++;
        }
    }

    static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime();
    }

    /** Completes a future with the answer, as core's turn does when the answer ends; counts the tokens. */
    static final class Answer implements ChatStreamHandler {
        final CompletableFuture<ChatResponse> done = new CompletableFuture<>();
        int tokens;

        @Override
        public void onToken(String delta) {
            tokens++;
        }

        @Override
        public void onComplete(ChatResponse response) {
            done.complete(response);
        }

        @Override
        public void onError(ParleyException error) {
            done.completeExceptionally(error);
        }
    }

    private boolean whole() {
        return "whole".equals(answer);
    }

    private ChatResponse call(ChatModelProvider provider) throws Exception {
        Answer a = new Answer();
        if (whole()) {
            provider.complete(REQUEST, a);
        } else {
            provider.stream(REQUEST, a);
        }
        return checked(a);
    }

    private ChatResponse guardedCall(PluginGuard g, PluginGuard.Registration<ModelDescriptor> r,
            ChatModelProvider provider) throws Exception {
        Answer a = new Answer();
        if (whole()) {
            g.start(r, "complete()", () -> provider.complete(REQUEST, a), a.done::completeExceptionally);
        } else {
            g.start(r, "stream()", () -> provider.stream(REQUEST, a), a.done::completeExceptionally);
        }
        return checked(a);
    }

    /** The answer, after checking it is whole: a lost token or a failed call fails the run rather than flatter it. */
    private ChatResponse checked(Answer a) throws Exception {
        ChatResponse r = a.done.get(10, TimeUnit.SECONDS);
        if (r.usage().completionTokens() != WORDS || a.tokens != (whole() ? 0 : WORDS)) {
            throw new IllegalStateException("unexpected answer: " + a.tokens + " tokens, " + r);
        }
        return r;
    }

    @Benchmark
    public ChatResponse direct(GuardOverheadBenchmark.Cpu cpu) throws Exception {
        cpu.call();
        return call(local);
    }

    @Benchmark
    public ChatResponse guarded(GuardOverheadBenchmark.Cpu cpu) throws Exception {
        cpu.call();
        return guardedCall(guard, registration, local);
    }

    @Benchmark
    public ChatResponse outOfProcess(Host host, HostCpu cpu) throws Exception {
        cpu.call();
        return call(host.rig.provider());
    }

    @Benchmark
    public ChatResponse outOfProcessGuarded(Host host, HostCpu cpu) throws Exception {
        cpu.call();
        return guardedCall(host.guard, host.registration, host.rig.provider());
    }
}
