package dev.parley.benchmarks;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Locale;
import java.util.PriorityQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/**
 * A cheap OpenAI-wire upstream for the relay benchmark (its own JVM): plain NIO on one thread that accepts, reads,
 * writes and paces (a timer queue in the selector loop, instead of a sleeping thread per stream), with every byte of
 * every answer encoded once per shape, HTTP chunking included; no JSON is built or parsed per request. It speaks what
 * {@code FakeOpenAiServer} speaks for a plain answer: SSE {@code data: {chat.completion.chunk}} frames (a role chunk,
 * one chunk per word, a finish chunk, a usage chunk when {@code stream_options.include_usage}), {@code data: [DONE]};
 * a non-stream {@code chat.completion} JSON after as long as the stream would take. The answer's shape (first-token
 * delay, words, gap) is set by the driver with {@code POST /bench/shape?first=<ms>&gap=<ms>&words=<n>} and applies to
 * every later request; {@code GET /bench/stats} counts requests and answers the client gave up on.
 *
 * <p>Rate limits, for the router's fallback scenario: after {@code POST /bench/ratelimit?model=<id>&every=<n>} every
 * n-th chat request naming that model (the first, the (n+1)-th, ...) is answered as OpenAI answers a rate-limited
 * request: {@code 429} with {@code retry-after} and the {@code x-ratelimit-*} headers and a
 * {@code rate_limit_exceeded} error object; {@code every=0} turns it off. Requests naming other models are answered
 * normally. {@code /bench/stats} also counts the requests naming that model and the 429s sent.
 */
public final class RelayUpstream {

    private static final Pattern STREAM = Pattern.compile("\"stream\"\\s*:\\s*true");
    private static final Pattern USAGE = Pattern.compile("\"include_usage\"\\s*:\\s*true");
    private static final String ID = "chatcmpl-relaybench";
    private static final String MODEL = "fake-model";
    private static final byte[] SSE_HEAD = ascii("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\n"
            + "Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n");

    /** One answer shape; every response byte encoded once. */
    record Shape(long firstMs, long gapMs, int words, ByteBuffer[] first, ByteBuffer[] frames, ByteBuffer[] tail,
            ByteBuffer[] allAtOnce, ByteBuffer complete) {

        static Shape of(long firstMs, long gapMs, int words) {
            String role = frame(chunk("{\"role\":\"assistant\",\"content\":\"\"}", "null"));
            String[] content = new String[words];
            for (int i = 1; i <= words; i++) {
                content[i - 1] = frame(chunk("{\"content\":\"" + word(i) + "\"}", "null"));
            }
            String finish = frame(chunk("{}", "\"stop\""));
            String usage = frame("{\"id\":\"" + ID + "\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,"
                    + "\"model\":\"" + MODEL + "\",\"choices\":[]," + usage(words) + "}");
            String done = "data: [DONE]\n\n";
            ByteBuffer[] frames = new ByteBuffer[words];
            for (int i = 1; i < words; i++) {
                frames[i] = direct(httpChunk(content[i]));
            }
            // [0]: without usage, [1]: with the usage chunk.
            ByteBuffer[] first = new ByteBuffer[2];
            ByteBuffer[] tail = new ByteBuffer[2];
            ByteBuffer[] all = new ByteBuffer[2];
            String joined = String.join("", content);
            for (int u = 0; u < 2; u++) {
                String end = finish + (u == 1 ? usage : "") + done;
                first[u] = direct(SSE_HEAD, httpChunk(role + content[0]) + (words == 1 ? httpChunk(end) + "0\r\n\r\n" : ""));
                tail[u] = direct(httpChunk(content[words - 1] + end) + "0\r\n\r\n");
                all[u] = direct(SSE_HEAD, httpChunk(role + joined + end) + "0\r\n\r\n");
            }
            StringBuilder text = new StringBuilder();
            for (int i = 1; i <= words; i++) {
                text.append(word(i));
            }
            String complete = "{\"id\":\"" + ID + "\",\"object\":\"chat.completion\",\"created\":1700000000,\"model\":\""
                    + MODEL + "\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"" + text
                    + "\",\"refusal\":null},\"logprobs\":null,\"finish_reason\":\"stop\"}]," + usage(words) + "}";
            return new Shape(firstMs, gapMs, words, first, frames, tail, all, response("application/json", complete));
        }

        /** Time from the request to the last word, which a non-stream answer waits for as a real model would. */
        long totalMs() {
            return firstMs + gapMs * Math.max(0, words - 1);
        }
    }

    static String word(int i) {
        return (i == 1 ? "" : " ") + "word" + i;
    }

    private static String chunk(String delta, String finish) {
        return "{\"id\":\"" + ID + "\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"" + MODEL
                + "\",\"system_fingerprint\":\"fp_relay\",\"choices\":[{\"index\":0,\"delta\":" + delta
                + ",\"logprobs\":null,\"finish_reason\":" + finish + "}]}";
    }

    private static String usage(int words) {
        return "\"usage\":{\"prompt_tokens\":4,\"completion_tokens\":" + words + ",\"total_tokens\":" + (4 + words) + "}";
    }

    private static String frame(String json) {
        return "data: " + json + "\n\n";
    }

    private static String httpChunk(String data) {
        return Integer.toHexString(data.getBytes(StandardCharsets.UTF_8).length) + "\r\n" + data + "\r\n";
    }

    private static ByteBuffer response(String type, String body) {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        return direct(ascii("HTTP/1.1 200 OK\r\nContent-Type: " + type + "\r\nContent-Length: " + b.length + "\r\n\r\n"),
                body);
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    private static ByteBuffer direct(String s) {
        return direct(new byte[0], s);
    }

    private static ByteBuffer direct(byte[] head, String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocateDirect(head.length + b.length).put(head).put(b).flip();
    }

    /** Something due at a time: the next frame of a stream, or a delayed answer. */
    private record Timed(long due, Conn conn, long request, Runnable action) {
    }

    private final Selector selector;
    private final ServerSocketChannel server;
    private final PriorityQueue<Timed> timers = new PriorityQueue<>((a, b) -> Long.compare(a.due(), b.due()));
    private Shape shape = Shape.of(0, 0, 15);
    private long requests;
    private long aborted;
    /** The rate-limited model's request pattern, or null; every n-th of its requests gets a 429. */
    private Pattern limitedModel;
    private String limitedModelId = "";
    private int limitEvery;
    private long limitedRequests;
    private long rateLimited;

    /** A 429 as the OpenAI API sends it: retry hints in the headers, the error object in the body. */
    static final ByteBuffer RATE_LIMITED;

    static {
        byte[] b = ("{\"error\":{\"message\":\"Rate limit reached for requests per min (RPM): Limit 60, Used 60, "
                + "Requested 1. Please try again in 1s.\",\"type\":\"requests\",\"param\":null,"
                + "\"code\":\"rate_limit_exceeded\"}}").getBytes(StandardCharsets.UTF_8);
        RATE_LIMITED = direct(ascii("HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\n"
                + "retry-after: 1\r\nx-ratelimit-limit-requests: 60\r\nx-ratelimit-remaining-requests: 0\r\n"
                + "x-ratelimit-reset-requests: 1s\r\nx-ratelimit-limit-tokens: 150000\r\n"
                + "x-ratelimit-remaining-tokens: 149980\r\nx-ratelimit-reset-tokens: 8ms\r\n"
                + "Content-Length: " + b.length + "\r\n\r\n"), new String(b, StandardCharsets.UTF_8));
    }

    RelayUpstream(int port) throws IOException {
        selector = Selector.open();
        server = ServerSocketChannel.open();
        server.bind(new InetSocketAddress("127.0.0.1", port), 8192);
        server.configureBlocking(false);
        server.register(selector, SelectionKey.OP_ACCEPT);
    }

    public static void main(String[] args) throws Exception {
        int port = Integer.parseInt(args[1]);
        RelayUpstream u = new RelayUpstream(port);
        System.out.println("relay upstream listening on 127.0.0.1:" + port);
        u.loop();
    }

    private void loop() throws IOException {
        while (true) {
            long wait = 0;
            Timed next = timers.peek();
            if (next != null) {
                wait = Math.max(1, TimeUnit.NANOSECONDS.toMillis(next.due() - System.nanoTime() + 999_999));
            }
            if (next != null && next.due() <= System.nanoTime()) {
                selector.selectNow();
            } else {
                selector.select(wait);
            }
            for (SelectionKey k : selector.selectedKeys()) {
                if (!k.isValid()) {
                    continue;
                }
                if (k.isAcceptable()) {
                    SocketChannel ch;
                    while ((ch = server.accept()) != null) {
                        ch.configureBlocking(false);
                        ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
                        Conn c = new Conn(ch);
                        c.key = ch.register(selector, SelectionKey.OP_READ, c);
                    }
                    continue;
                }
                Conn c = (Conn) k.attachment();
                try {
                    if (k.isWritable()) {
                        c.flush();
                    }
                    if (k.isValid() && k.isReadable()) {
                        c.read();
                    }
                } catch (IOException | RuntimeException e) {
                    c.close();
                }
            }
            selector.selectedKeys().clear();
            long now = System.nanoTime();
            while ((next = timers.peek()) != null && next.due() <= now) {
                timers.poll();
                if (next.conn().open && next.conn().request == next.request()) {
                    try {
                        next.action().run();
                    } catch (RuntimeException e) {
                        next.conn().close();
                    }
                }
            }
        }
    }

    private void at(long due, Conn c, Runnable action) {
        timers.add(new Timed(due, c, c.request, action));
    }

    private final class Conn {
        final SocketChannel ch;
        SelectionKey key;
        boolean open = true;
        /** Bumped per request, so timers of an earlier request never touch a later one. */
        long request;
        boolean answering;
        ByteBuffer in = ByteBuffer.allocate(16 * 1024);
        final ArrayDeque<ByteBuffer> out = new ArrayDeque<>();

        Conn(SocketChannel ch) {
            this.ch = ch;
        }

        void read() throws IOException {
            int n = ch.read(in);
            if (n < 0) {
                if (answering) {
                    aborted++;
                }
                close();
                return;
            }
            if (!in.hasRemaining()) {
                in = ByteBuffer.allocate(in.capacity() * 2).put(in.flip());
            }
            parse();
        }

        /** Handles every complete request in the buffer (one at a time: a request waits for the previous answer). */
        void parse() {
            while (!answering) {
                int end = headEnd();
                if (end < 0) {
                    return;
                }
                String head = new String(in.array(), 0, end, StandardCharsets.ISO_8859_1);
                int length = 0;
                for (String line : head.split("\r\n")) {
                    int colon = line.indexOf(':');
                    if (colon > 0 && line.substring(0, colon).trim().toLowerCase(Locale.ROOT).equals("content-length")) {
                        length = Integer.parseInt(line.substring(colon + 1).trim());
                    }
                }
                int total = end + 4 + length;
                if (in.position() < total) {
                    return;
                }
                String body = new String(in.array(), end + 4, length, StandardCharsets.UTF_8);
                int rest = in.position() - total;
                System.arraycopy(in.array(), total, in.array(), 0, rest);
                in.position(rest);
                String requestLine = head.substring(0, head.indexOf("\r\n") < 0 ? head.length() : head.indexOf("\r\n"));
                String[] parts = requestLine.split(" ");
                request++;
                answering = true;
                handle(parts[0], parts.length > 1 ? parts[1] : "/", body);
            }
        }

        private int headEnd() {
            byte[] a = in.array();
            for (int i = 0; i + 3 < in.position(); i++) {
                if (a[i] == '\r' && a[i + 1] == '\n' && a[i + 2] == '\r' && a[i + 3] == '\n') {
                    return i;
                }
            }
            return -1;
        }

        void handle(String method, String target, String body) {
            String path = target.contains("?") ? target.substring(0, target.indexOf('?')) : target;
            if (path.equals("/v1/chat/completions") && method.equals("POST")) {
                requests++;
                chat(body);
            } else if (path.equals("/v1/models")) {
                finish(response("application/json", "{\"object\":\"list\",\"data\":[{\"id\":\"" + MODEL
                        + "\",\"object\":\"model\",\"created\":1700000000,\"owned_by\":\"relay\"}]}"));
            } else if (path.equals("/bench/shape")) {
                long first = 0;
                long gap = 0;
                int words = 15;
                for (String kv : target.substring(target.indexOf('?') + 1).split("&")) {
                    String[] p = kv.split("=");
                    switch (p[0]) {
                        case "first" -> first = Long.parseLong(p[1]);
                        case "gap" -> gap = Long.parseLong(p[1]);
                        case "words" -> words = Integer.parseInt(p[1]);
                        default -> { }
                    }
                }
                shape = Shape.of(first, gap, words);
                finish(response("text/plain", "ok " + first + "/" + gap + "/" + words));
            } else if (path.equals("/bench/ratelimit")) {
                String model = "";
                int every = 0;
                for (String kv : target.substring(target.indexOf('?') + 1).split("&")) {
                    String[] p = kv.split("=");
                    switch (p[0]) {
                        case "model" -> model = p.length > 1 ? p[1] : "";
                        case "every" -> every = Integer.parseInt(p[1]);
                        default -> { }
                    }
                }
                limitEvery = every;
                limitedModelId = model;
                limitedModel = every > 0 ? Pattern.compile("\"model\"\\s*:\\s*\"" + Pattern.quote(model) + "\"") : null;
                limitedRequests = 0;
                finish(response("text/plain", "ok " + model + "/" + every));
            } else if (path.equals("/bench/stats")) {
                finish(response("application/json", "{\"requests\":" + requests + ",\"aborted\":" + aborted
                        + ",\"rateLimitedModel\":\"" + limitedModelId + "\",\"rateLimitEvery\":" + limitEvery
                        + ",\"limitedModelRequests\":" + limitedRequests + ",\"rateLimited\":" + rateLimited + "}"));
            } else {
                finish(ByteBuffer.wrap(ascii("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")));
            }
        }

        void chat(String body) {
            if (limitedModel != null && limitedModel.matcher(body).find() && limitedRequests++ % limitEvery == 0) {
                rateLimited++;
                finish(RATE_LIMITED.duplicate());
                return;
            }
            Shape s = shape;
            int u = USAGE.matcher(body).find() ? 1 : 0;
            long start = System.nanoTime();
            long ms = TimeUnit.MILLISECONDS.toNanos(1);
            if (!STREAM.matcher(body).find()) {
                later(start + s.totalMs() * ms, () -> finish(s.complete().duplicate()));
                return;
            }
            if (s.gapMs() == 0 || s.words() == 1) {
                later(start + s.firstMs() * ms, () -> finish((s.words() == 1 ? s.first()[u] : s.allAtOnce()[u]).duplicate()));
                return;
            }
            later(start + s.firstMs() * ms, () -> {
                write(s.first()[u].duplicate());
                step(s, u, start, 1);
            });
        }

        /** Schedules frame {@code i}, due at first + i × gap after the request (fixed rate: delays do not add up). */
        private void step(Shape s, int u, long start, int i) {
            long due = start + TimeUnit.MILLISECONDS.toNanos(s.firstMs() + s.gapMs() * i);
            at(due, this, () -> {
                if (i == s.words() - 1) {
                    finish(s.tail()[u].duplicate());
                } else {
                    write(s.frames()[i].duplicate());
                    step(s, u, start, i + 1);
                }
            });
        }

        private void later(long due, Runnable r) {
            if (due <= System.nanoTime()) {
                r.run();
            } else {
                at(due, this, r);
            }
        }

        void finish(ByteBuffer last) {
            write(last);
            answering = false;
            if (open) {
                parse();
            }
        }

        void write(ByteBuffer b) {
            if (!open) {
                return;
            }
            out.add(b);
            try {
                flush();
            } catch (IOException e) {
                if (answering) {
                    aborted++;
                }
                close();
            }
        }

        void flush() throws IOException {
            while (!out.isEmpty()) {
                ByteBuffer b = out.peek();
                ch.write(b);
                if (b.hasRemaining()) {
                    key.interestOps(SelectionKey.OP_READ | SelectionKey.OP_WRITE);
                    return;
                }
                out.poll();
            }
            key.interestOps(SelectionKey.OP_READ);
        }

        void close() {
            open = false;
            try {
                ch.close();
            } catch (IOException e) {
                // closing anyway
            }
        }
    }
}
