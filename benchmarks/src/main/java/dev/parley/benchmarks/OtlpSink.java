package dev.parley.benchmarks;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.parley.testsupport.otlp.ExportRequest;
import dev.parley.testsupport.otlp.OtlpReceiver;
import dev.parley.testsupport.otlp.ReceivedSpan;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The telemetry benchmark's trace collector, run as its own JVM so that decoding the exports is not counted as
 * Parley's CPU: {@link OtlpReceiver} (test-support; it decodes the OTLP/HTTP protobuf exports as a collector would)
 * on {@code --port}, drained every second so it does not hold a whole run's spans, and a stats port that tells the
 * driver how many spans ended inside a time window, by span name.
 *
 * <pre>
 *   java -cp parley-benchmarks.jar dev.parley.benchmarks.OtlpSink --port 0 --stats-port 0
 *   GET http://127.0.0.1:&lt;stats-port&gt;/count?from=&lt;epoch ns&gt;&amp;to=&lt;epoch ns&gt;
 *   → {"spans":N,"byName":{...},"exports":E,"refused":R,"received":T}
 * </pre>
 *
 * <p>Draining reads the receiver's spans, then clears it: an export answered between those two calls (a window of a
 * few microseconds, against a few exports a second) would be lost; the span counts per request would show it.
 */
public final class OtlpSink {

    private final OtlpReceiver receiver;
    private final Object lock = new Object();
    private long[] ends = new long[1 << 16];
    private int[] names = new int[1 << 16];
    private int size;
    private final Map<String, Integer> nameIds = new ConcurrentHashMap<>();
    private final java.util.List<String> nameList = new java.util.concurrent.CopyOnWriteArrayList<>();
    private long exports;
    private long refused;

    private OtlpSink(OtlpReceiver receiver) {
        this.receiver = receiver;
    }

    public static void main(String[] args) throws Exception {
        int port = 0;
        int statsPort = 0;
        for (int i = 0; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--port" -> port = Integer.parseInt(args[i + 1]);
                case "--stats-port" -> statsPort = Integer.parseInt(args[i + 1]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        OtlpReceiver receiver = OtlpReceiver.start(port);
        OtlpSink sink = new OtlpSink(receiver);
        HttpServer stats = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), statsPort), 16);
        stats.createContext("/count", sink::count);
        stats.createContext("/health", ex -> answer(ex, 200, "ok"));
        stats.start();
        Thread drainer = new Thread(() -> {
            while (true) {
                try {
                    Thread.sleep(1000);
                } catch (InterruptedException e) {
                    return;
                }
                sink.drain();
            }
        }, "otlp-sink-drain");
        drainer.setDaemon(true);
        drainer.start();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            stats.stop(0);
            receiver.close();
        }));
        // The driver reads these two lines from the log to find the ports.
        System.out.println("otlp-port " + receiver.port());
        System.out.println("stats-port " + stats.getAddress().getPort());
        System.out.flush();
        Thread.currentThread().join();
    }

    /** Moves what the receiver holds into the counts; one drain at a time (the timer and a count may race). */
    private void drain() {
        synchronized (lock) {
            List<ExportRequest> requests = receiver.exportRequests();
            List<ReceivedSpan> spans = receiver.spans();
            receiver.clear();
            for (ExportRequest r : requests) {
                if (r.path().equals(OtlpReceiver.TRACES_PATH)) {
                    if (r.accepted()) {
                        exports++;
                    } else {
                        refused++;
                    }
                }
            }
            if (size + spans.size() > ends.length) {
                int n = Math.max(ends.length * 2, size + spans.size());
                ends = Arrays.copyOf(ends, n);
                names = Arrays.copyOf(names, n);
            }
            for (ReceivedSpan s : spans) {
                ends[size] = s.endEpochNanos();
                names[size] = nameIds.computeIfAbsent(s.name(), k -> {
                    nameList.add(k);
                    return nameList.size() - 1;
                });
                size++;
            }
        }
    }

    private void count(HttpExchange ex) throws IOException {
        long from = Long.MIN_VALUE;
        long to = Long.MAX_VALUE;
        String q = ex.getRequestURI().getRawQuery();
        if (q != null) {
            for (String p : q.split("&")) {
                String[] kv = p.split("=", 2);
                if (kv.length == 2 && kv[0].equals("from")) {
                    from = Long.parseLong(kv[1]);
                } else if (kv.length == 2 && kv[0].equals("to")) {
                    to = Long.parseLong(kv[1]);
                }
            }
        }
        drain();
        long n = 0;
        Map<String, Long> byName = new TreeMap<>();
        long total;
        long e;
        long r;
        synchronized (lock) {
            for (int i = 0; i < size; i++) {
                if (ends[i] >= from && ends[i] < to) {
                    n++;
                    byName.merge(nameList.get(names[i]), 1L, Long::sum);
                }
            }
            total = size;
            e = exports;
            r = refused;
        }
        StringBuilder json = new StringBuilder("{\"spans\":").append(n).append(",\"byName\":{");
        boolean first = true;
        for (Map.Entry<String, Long> x : byName.entrySet()) {
            json.append(first ? "" : ",").append('"').append(x.getKey().replace("\\", "\\\\").replace("\"", "\\\""))
                    .append("\":").append(x.getValue());
            first = false;
        }
        json.append("},\"exports\":").append(e).append(",\"refused\":").append(r).append(",\"received\":")
                .append(total).append('}');
        answer(ex, 200, json.toString());
    }

    private static void answer(HttpExchange ex, int status, String body) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", "application/json");
        ex.sendResponseHeaders(status, b.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(b);
        }
    }
}
