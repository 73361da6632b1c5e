package dev.parley.benchmarks;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * Every process the benchmark spawns goes through here, so that all of them are stopped on exit: by a shutdown hook
 * in this JVM, and (should this JVM be killed hard) by run.sh from the pid file.
 */
final class Processes implements AutoCloseable {

    private final Path pidFile;
    private final List<Process> started = new CopyOnWriteArrayList<>();

    Processes(Path pidFile) {
        this.pidFile = pidFile;
    }

    Process spawn(List<String> command, Map<String, String> env, Path log) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        // The benchmark's own environment must not leak a real provider, or telemetry settings, into the measured
        // server: each mode sets what it measures.
        pb.environment().keySet().removeIf(k -> k.startsWith("OPENAI_") || k.startsWith("PARLEY_")
                || k.startsWith("OTEL_") || k.equals("JDK_JAVA_OPTIONS") || k.equals("JAVA_TOOL_OPTIONS"));
        pb.environment().putAll(env);
        Process p = pb.start();
        started.add(p);
        Files.writeString(pidFile, p.pid() + "\n", StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                StandardOpenOption.APPEND);
        return p;
    }

    /** SIGTERM, as an operator would stop it; SIGKILL if it does not go within the grace period. */
    static void stop(Process p, long graceSeconds) throws InterruptedException {
        if (!p.isAlive()) {
            return;
        }
        p.destroy();
        if (!p.waitFor(graceSeconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
        }
    }

    static long rssKb(long pid) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        throw new IOException("no VmRSS for pid " + pid);
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    @Override
    public void close() {
        for (Process p : started) {
            try {
                stop(p, 20);
            } catch (InterruptedException e) {
                p.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
    }
}
