package dev.parley.deploy;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * Runs docker/nginx/nginx.conf for real, in a network namespace of its own (NginxConfigTest starts this program with
 * `unshare --net --mount`, the gateway names mapped to 127.0.0.2 and 127.0.0.3 in a private /etc/hosts): two stand-in
 * gateways on port 8080 that record what reaches them, nginx on 80 and 443, and a client. It prints what it saw as
 * `key=value` lines; the test asserts on them. Only the JDK is used, so it runs from target/test-classes alone.
 *
 * <p>args: nginx binary, the folder holding nginx.conf and certs/.
 */
public final class NginxProbe {

    private static final Map<String, String> RESULTS = new LinkedHashMap<>();

    public static void main(String[] args) throws Exception {
        String nginx = args[0];
        Path dir = Path.of(args[1]);
        Gateway g1 = new Gateway("gateway-1", InetAddress.getByName("127.0.0.2"));
        Gateway g2 = new Gateway("gateway-2", InetAddress.getByName("127.0.0.3"));
        Process p = new ProcessBuilder(nginx, "-c", dir.resolve("nginx.conf").toString(), "-p", dir + "/", "-g",
                "daemon off;").redirectErrorStream(true).redirectOutput(dir.resolve("nginx.log").toFile()).start();
        int exit = 0;
        try {
            awaitPort(443, p);
            awaitPort(80, p);
            probe(dir, g1, g2);
        } catch (Throwable t) {
            put("error", t.toString().replace('\n', ' '));
            exit = 1;
        } finally {
            p.destroy();
            p.waitFor(10, TimeUnit.SECONDS);
            p.destroyForcibly();
            g1.close();
            g2.close();
        }
        RESULTS.forEach((k, v) -> System.out.println(k + "=" + v));
        System.out.flush();
        System.exit(exit);
    }

    private static void put(String key, Object value) {
        RESULTS.put(key, String.valueOf(value).replace('\n', '|'));
    }

    private static void awaitPort(int port, Process nginx) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (true) {
            try (Socket s = new Socket("127.0.0.1", port)) {
                return;
            } catch (ConnectException e) {
                if (!nginx.isAlive()) {
                    throw new IllegalStateException("nginx exited with " + nginx.exitValue());
                }
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("nginx does not listen on " + port);
                }
                Thread.onSpinWait();
                nginx.waitFor(20, TimeUnit.MILLISECONDS);
            }
        }
    }

    private static void probe(Path dir, Gateway g1, Gateway g2) throws Exception {
        KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
        trust.load(null, null);
        try (InputStream in = Files.newInputStream(dir.resolve("certs/tls.crt"))) {
            trust.setCertificateEntry("parley", CertificateFactory.getInstance("X.509").generateCertificate(in));
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext ssl = SSLContext.getInstance("TLS");
        ssl.init(null, tmf.getTrustManagers(), null);
        HttpClient https = HttpClient.newBuilder().sslContext(ssl).version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(5)).build();
        HttpClient http = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER).build();
        String base = "https://localhost";

        HttpResponse<String> plain = http.send(HttpRequest.newBuilder(URI.create("http://localhost/whoami")).build(),
                HttpResponse.BodyHandlers.ofString());
        put("redirect.status", plain.statusCode());
        put("redirect.location", plain.headers().firstValue("Location").orElse(""));

        List<String> servedBy = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            HttpResponse<String> r = https.send(HttpRequest.newBuilder(URI.create(base + "/whoami")).build(),
                    HttpResponse.BodyHandlers.ofString());
            servedBy.add(r.statusCode() + ":" + line(r.body(), "gateway"));
            if (i == 0) {
                put("whoami.xff", line(r.body(), "xff"));
                put("whoami.proto", line(r.body(), "proto"));
                put("whoami.host", line(r.body(), "host"));
            }
        }
        put("balance.servedBy", String.join(",", servedBy));

        HttpResponse<String> forwarded = https.send(HttpRequest.newBuilder(URI.create(base + "/whoami"))
                .header("X-Forwarded-For", "203.0.113.7").build(), HttpResponse.BodyHandlers.ofString());
        put("forwarded.xff", line(forwarded.body(), "xff"));

        sse(https, base, "/sse", g1, g2);
        sse(https, base, "/sse-no-header", g1, g2);

        CompletableFuture<String> echoed = new CompletableFuture<>();
        WebSocket ws = https.newWebSocketBuilder().buildAsync(URI.create("wss://localhost/api/v1/chat/ws"),
                new WebSocket.Listener() {
                    private final StringBuilder text = new StringBuilder();

                    @Override
                    public java.util.concurrent.CompletionStage<?> onText(WebSocket w, CharSequence data, boolean last) {
                        text.append(data);
                        if (last) {
                            echoed.complete(text.toString());
                        }
                        w.request(1);
                        return null;
                    }

                    @Override
                    public void onError(WebSocket w, Throwable error) {
                        echoed.completeExceptionally(error);
                    }
                }).get(10, TimeUnit.SECONDS);
        ws.sendText("ping-parley", true).get(10, TimeUnit.SECONDS);
        put("ws.echo", echoed.get(10, TimeUnit.SECONDS));
        ws.abort();

        byte[] max = new byte[1048576];
        HttpResponse<String> atLimit = https.send(HttpRequest.newBuilder(URI.create(base + "/size"))
                .POST(HttpRequest.BodyPublishers.ofByteArray(max)).build(), HttpResponse.BodyHandlers.ofString());
        put("body.atLimit", atLimit.statusCode() + ":" + atLimit.body().trim());
        HttpResponse<String> over = https.send(HttpRequest.newBuilder(URI.create(base + "/size"))
                .POST(HttpRequest.BodyPublishers.ofByteArray(new byte[max.length + 1])).build(),
                HttpResponse.BodyHandlers.ofString());
        put("body.overLimit", over.statusCode());

        HttpResponse<String> metrics = https.send(HttpRequest.newBuilder(URI.create(base + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString());
        put("metrics.status", metrics.statusCode());
        put("metrics.reachedGateway", g1.paths.containsKey("/metrics") || g2.paths.containsKey("/metrics"));

        // Requests back to back on one connection, many more than the burst (40) plus what 20 a second refill
        // meanwhile: the surplus gets 429 from nginx. The order shows the burst passed first.
        Map<Integer, Integer> statuses = new java.util.TreeMap<>();
        StringBuilder order = new StringBuilder();
        for (int i = 0; i < 120; i++) {
            int status = https.send(HttpRequest.newBuilder(URI.create(base + "/whoami")).build(),
                    HttpResponse.BodyHandlers.discarding()).statusCode();
            statuses.merge(status, 1, Integer::sum);
            order.append(status == 200 ? 'o' : status == 429 ? 'x' : '?');
        }
        put("burst.order", order);
        put("burst.statuses", statuses);
    }

    /** Reads an event stream through nginx; the gateway sends its second event only once the client has the first. */
    private static void sse(HttpClient https, String base, String path, Gateway g1, Gateway g2) throws Exception {
        CountDownLatch firstSeen = new CountDownLatch(1);
        g1.firstEventSeen = firstSeen;
        g2.firstEventSeen = firstSeen;
        HttpResponse<InputStream> r = https.send(HttpRequest.newBuilder(URI.create(base + path)).build(),
                HttpResponse.BodyHandlers.ofInputStream());
        List<String> events = new ArrayList<>();
        try (BufferedReader in = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
            String l;
            while ((l = in.readLine()) != null) {
                if (l.startsWith("data: ")) {
                    events.add(l.substring(6));
                    firstSeen.countDown();
                }
            }
        }
        String key = "sse" + path.replace("/sse", "").replace('-', '.');
        put(key + ".events", String.join(",", events));
        // true: the client had the first event while the gateway still held the rest back (nothing buffered it).
        put(key + ".streamed", g1.lastStreamed.get() + g2.lastStreamed.get() == 1);
        g1.lastStreamed.set(0);
        g2.lastStreamed.set(0);
        put(key + ".contentType", r.headers().firstValue("Content-Type").orElse(""));
    }

    private static String line(String body, String key) {
        for (String l : body.split("\n")) {
            if (l.startsWith(key + "=")) {
                return l.substring(key.length() + 1);
            }
        }
        return "";
    }

    /** A stand-in gateway: one thread per connection, one request per connection (Connection: close). */
    static final class Gateway implements AutoCloseable {
        final String name;
        final ServerSocket server;
        final Map<String, AtomicInteger> paths = new ConcurrentHashMap<>();
        final AtomicInteger lastStreamed = new AtomicInteger();
        volatile CountDownLatch firstEventSeen = new CountDownLatch(1);

        Gateway(String name, InetAddress address) throws IOException {
            this.name = name;
            this.server = new ServerSocket();
            server.bind(new InetSocketAddress(address, 8080));
            Thread t = new Thread(this::acceptLoop, name);
            t.setDaemon(true);
            t.start();
        }

        private void acceptLoop() {
            while (!server.isClosed()) {
                try {
                    Socket s = server.accept();
                    Thread t = new Thread(() -> handle(s), name + "-conn");
                    t.setDaemon(true);
                    t.start();
                } catch (IOException e) {
                    return;
                }
            }
        }

        private void handle(Socket s) {
            try (s) {
                InputStream in = s.getInputStream();
                OutputStream out = s.getOutputStream();
                String requestLine = readLine(in);
                Map<String, String> headers = new LinkedHashMap<>();
                String h;
                while (!(h = readLine(in)).isEmpty()) {
                    int colon = h.indexOf(':');
                    headers.put(h.substring(0, colon).trim().toLowerCase(Locale.ROOT), h.substring(colon + 1).trim());
                }
                String path = requestLine.split(" ")[1];
                paths.computeIfAbsent(path, k -> new AtomicInteger()).incrementAndGet();
                long length = Long.parseLong(headers.getOrDefault("content-length", "0"));
                long read = 0;
                byte[] buf = new byte[65536];
                while (read < length) {
                    int n = in.read(buf, 0, (int) Math.min(buf.length, length - read));
                    if (n < 0) {
                        break;
                    }
                    read += n;
                }
                switch (path) {
                    case "/sse", "/sse-no-header" -> sse(out, path.equals("/sse"));
                    case "/api/v1/chat/ws" -> webSocket(in, out, headers);
                    case "/size" -> respond(out, 200, "size", String.valueOf(read));
                    default -> respond(out, 200, "whoami", "gateway=" + name + "\nxff="
                            + headers.getOrDefault("x-forwarded-for", "") + "\nproto="
                            + headers.getOrDefault("x-forwarded-proto", "") + "\nhost="
                            + headers.getOrDefault("host", "") + "\n");
                }
            } catch (Exception e) {
                // The client went away; nothing to record.
            }
        }

        private static void respond(OutputStream out, int status, String what, String body) throws IOException {
            byte[] b = body.getBytes(StandardCharsets.UTF_8);
            out.write(("HTTP/1.1 " + status + " OK\r\nContent-Type: text/plain\r\nContent-Length: " + b.length
                    + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.write(b);
            out.flush();
        }

        private void sse(OutputStream out, boolean accelHeader) throws Exception {
            out.write(("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
                    + (accelHeader ? "X-Accel-Buffering: no\r\n" : "") + "Connection: close\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            out.write("data: one\n\n".getBytes(StandardCharsets.UTF_8));
            out.flush();
            // The rest only once the client has the first event (or after 5 s: then it was held back on the way).
            boolean seen = firstEventSeen.await(5, TimeUnit.SECONDS);
            lastStreamed.set(seen ? 1 : 0);
            out.write("data: two\n\n".getBytes(StandardCharsets.UTF_8));
            out.flush();
        }

        private static void webSocket(InputStream in, OutputStream out, Map<String, String> headers) throws Exception {
            if (!"websocket".equalsIgnoreCase(headers.get("upgrade"))
                    || !headers.getOrDefault("connection", "").toLowerCase(Locale.ROOT).contains("upgrade")) {
                respond(out, 400, "ws", "no upgrade: " + headers);
                return;
            }
            String accept = Base64.getEncoder().encodeToString(MessageDigest.getInstance("SHA-1").digest(
                    (headers.get("sec-websocket-key") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")
                            .getBytes(StandardCharsets.US_ASCII)));
            out.write(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    + "Sec-WebSocket-Accept: " + accept + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            // One masked text frame from the client (short payload), echoed back unmasked.
            int b0 = in.read();
            int b1 = in.read();
            int len = b1 & 0x7f;
            byte[] mask = in.readNBytes(4);
            byte[] payload = in.readNBytes(len);
            for (int i = 0; i < payload.length; i++) {
                payload[i] ^= mask[i % 4];
            }
            ByteArrayOutputStream frame = new ByteArrayOutputStream();
            frame.write(b0 & 0x8f);
            frame.write(payload.length);
            frame.write(payload);
            out.write(frame.toByteArray());
            out.flush();
            in.read();
        }

        private static String readLine(InputStream in) throws IOException {
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            int c;
            while ((c = in.read()) != -1 && c != '\n') {
                if (c != '\r') {
                    b.write(c);
                }
            }
            if (c == -1 && b.size() == 0) {
                throw new IOException("connection closed");
            }
            return b.toString(StandardCharsets.US_ASCII);
        }

        @Override
        public void close() throws IOException {
            server.close();
        }
    }
}
