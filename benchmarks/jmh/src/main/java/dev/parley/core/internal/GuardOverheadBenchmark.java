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
import dev.parley.api.llm.FinishReason;
import dev.parley.api.llm.ModelDescriptor;
import dev.parley.api.llm.StreamHandle;
import dev.parley.api.llm.Usage;

/**
 * What the plugin call guard (ADR 28) adds to one call into a provider plugin: a {@code stream} call whose provider
 * answers at once (one token, then complete, on the calling thread), so that only the guard's own work is measured.
 * <ul>
 * <li>{@code direct}: {@code provider.stream(request, handler)} on the caller's thread, as core did before the
 * guard;</li>
 * <li>{@code guarded}: the same call through {@link PluginGuard#start}, as {@link RoutedCall} makes it: handed to the
 * plugin's thread, its timeout armed and disarmed, its concurrency counted; the caller waits for the answer.</li>
 * </ul>
 * Besides the time per call, each iteration counts the CPU time of the whole process (every thread: the plugin's
 * thread and the guard's watchdog included) and the calls made ({@link Cpu}).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 10, time = 1)
@Fork(value = 2, jvmArgsAppend = {"-Xms256m", "-Xmx256m"})
@State(Scope.Benchmark)
public class GuardOverheadBenchmark {

    private static final ChatRequest REQUEST = new ChatRequest("bench-model",
            List.of(ChatMessage.user("hello")), ChatOptions.DEFAULTS, List.of());
    private static final ChatResponse ANSWER = new ChatResponse("hi", List.of(), FinishReason.STOP,
            new Usage(1, 1, 0), "bench-model");

    /** A provider that answers at once, on the thread that called it. */
    static final class InstantProvider implements ChatModelProvider {
        @Override
        public String id() {
            return "bench";
        }

        @Override
        public List<ModelDescriptor> models() {
            return List.of();
        }

        @Override
        public StreamHandle stream(ChatRequest request, ChatStreamHandler handler) {
            handler.onToken("hi");
            handler.onComplete(ANSWER);
            return () -> { };
        }
    }

    /** Completes a future with the answer, as core's turn does when the last chunk arrives. */
    static final class Answer implements ChatStreamHandler {
        final CompletableFuture<ChatResponse> done = new CompletableFuture<>();

        @Override
        public void onToken(String delta) {
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

    private final InstantProvider provider = new InstantProvider();
    private PluginGuard guard;
    private PluginGuard.Registration<ModelDescriptor> registration;

    @Setup(Level.Trial)
    public void setUp() {
        guard = new PluginGuard(GuardSettings.DEFAULTS, false);
        registration = guard.register(new PluginGuard.PluginRef("bench-plugin", -1), provider, provider::id,
                provider::models, "models()");
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        guard.unregister(registration);
        guard.deactivate();
    }

    /**
     * The process's CPU time and the calls made, per iteration. JMH adds {@link AuxCounters.Type#EVENTS} counters up
     * over the measured iterations; CPU per call is {@code cpuNanos / calls} of the totals (jmh.sh prints it).
     */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.EVENTS)
    public static class Cpu {
        private long cpuStart;
        private long counted;
        public long cpuNanos;
        public long calls;

        @Setup(Level.Iteration)
        public void start() {
            counted = 0;
            cpuStart = processCpuNanos();
        }

        @TearDown(Level.Iteration)
        public void stop() {
            cpuNanos = processCpuNanos() - cpuStart;
            calls = counted;
        }

        void call() {
            counted++;
        }

        private static long processCpuNanos() {
            return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
                    .getProcessCpuTime();
        }
    }

    @Benchmark
    public ChatResponse direct(Cpu cpu) throws Exception {
        cpu.call();
        Answer answer = new Answer();
        provider.stream(REQUEST, answer);
        return answer.done.get();
    }

    @Benchmark
    public ChatResponse guarded(Cpu cpu) throws Exception {
        cpu.call();
        Answer answer = new Answer();
        guard.start(registration, "stream()", () -> provider.stream(REQUEST, answer),
                answer.done::completeExceptionally);
        return answer.done.get();
    }
}
