package dev.parley.benchmarks;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * The driver's HTTP/1.1 client for the relay benchmark's measured requests: one selector thread, keep-alive
 * connections per address, requests encoded once, responses (Content-Length or chunked) decoded in place and handed
 * to the caller as they arrive. Jetty's HttpClient cost the driver ~30-50 µs of CPU per streamed chunk (a thread
 * hand-off per read), more than nginx spent relaying it; this costs a few µs, so the driver is not the limit.
 */
final class NioHttp implements AutoCloseable {

    /** Receives the decoded body bytes of one response; {@code done(status, error)} ends it. */
    interface Handler {
        void body(ByteBuffer data, long nanoTime);

        void done(int status, String error);
    }

    /** One request in flight; {@link #abort()} closes its connection if it is still serving this request. */
    final class Call {
        private final Conn placeholder;
        private final Handler handler;

        Call(Conn placeholder, Handler handler) {
            this.placeholder = placeholder;
            this.handler = handler;
        }

        void abort() {
            submit(() -> {
                Conn c = placeholder.redirect != null ? placeholder.redirect : placeholder;
                if (c.handler == handler) {
                    c.fail("aborted");
                }
            });
        }
    }

    private enum State { IDLE, CONNECTING, STATUS_HEADERS, BODY_LENGTH, CHUNK_SIZE, CHUNK_DATA, CHUNK_CRLF, TRAILERS }

    private final Selector selector;
    private final Thread thread;
    private final ConcurrentLinkedQueue<Runnable> tasks = new ConcurrentLinkedQueue<>();
    private final Map<InetSocketAddress, ArrayDeque<Conn>> idle = new HashMap<>();
    private final Set<Conn> busy = new HashSet<>();
    private final ByteBuffer readBuf = ByteBuffer.allocateDirect(256 * 1024);
    private volatile boolean running = true;

    NioHttp() throws IOException {
        selector = Selector.open();
        thread = new Thread(this::loop, "nio-http");
        thread.setDaemon(true);
        thread.start();
    }

    /** A POST with a JSON body, encoded once; reuse it for every request to the same target. */
    static byte[] post(URI uri, String body, String accept) {
        return post(uri, body, accept, Benchmark.CREDENTIAL);
    }

    /** The same, sending {@code credential} as the bearer token. */
    static byte[] post(URI uri, String body, String accept, String credential) {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        String head = "POST " + uri.getRawPath() + " HTTP/1.1\r\nHost: " + uri.getHost() + ":" + uri.getPort()
                + "\r\nAuthorization: Bearer " + credential
                + "\r\nContent-Type: application/json\r\nAccept: " + accept + "\r\nContent-Length: " + b.length
                + "\r\n\r\n";
        byte[] h = head.getBytes(StandardCharsets.US_ASCII);
        byte[] all = new byte[h.length + b.length];
        System.arraycopy(h, 0, all, 0, h.length);
        System.arraycopy(b, 0, all, h.length, b.length);
        return all;
    }

    Call send(InetSocketAddress addr, byte[] request, Handler handler) {
        Conn c = new Conn(addr);
        Call call = new Call(c, handler);
        submit(() -> start(c, request, handler));
        return call;
    }

    private void submit(Runnable r) {
        if (Thread.currentThread() == thread) {
            r.run();
        } else {
            tasks.add(r);
            selector.wakeup();
        }
    }

    /** {@code fresh} is only a placeholder when an idle connection can be reused. */
    private void start(Conn fresh, byte[] request, Handler handler) {
        ArrayDeque<Conn> pool = idle.get(fresh.addr);
        Conn c = fresh;
        if (pool != null && !pool.isEmpty()) {
            Conn reused = pool.poll();
            fresh.redirect = reused;
            c = reused;
        }
        c.begin(request, handler);
        busy.add(c);
        try {
            if (c.channel == null) {
                c.open();
            } else {
                c.write();
            }
        } catch (IOException e) {
            c.fail(e.toString());
        }
    }

    private void loop() {
        while (running) {
            try {
                selector.select(1000);
                Runnable r;
                while ((r = tasks.poll()) != null) {
                    r.run();
                }
                for (SelectionKey k : selector.selectedKeys()) {
                    Conn c = (Conn) k.attachment();
                    try {
                        if (!k.isValid()) {
                            continue;
                        }
                        if (k.isConnectable()) {
                            c.channel.finishConnect();
                            c.write();
                        } else {
                            if (k.isWritable()) {
                                c.write();
                            }
                            if (k.isValid() && k.isReadable()) {
                                c.read();
                            }
                        }
                    } catch (IOException | RuntimeException e) {
                        c.fail(e.toString());
                    }
                }
                selector.selectedKeys().clear();
            } catch (IOException e) {
                // selector trouble: keep going, the calls time out on their own side
            }
        }
    }

    private final class Conn {
        final InetSocketAddress addr;
        SocketChannel channel;
        SelectionKey key;
        Conn redirect;
        State state = State.IDLE;
        ByteBuffer out;
        Handler handler;
        int status;
        long remaining;
        boolean chunked;
        boolean close;
        final StringBuilder line = new StringBuilder();

        Conn(InetSocketAddress addr) {
            this.addr = addr;
        }

        void begin(byte[] request, Handler h) {
            out = ByteBuffer.wrap(request);
            handler = h;
            status = 0;
            remaining = -1;
            chunked = false;
            close = false;
            line.setLength(0);
            state = State.STATUS_HEADERS;
        }

        void open() throws IOException {
            channel = SocketChannel.open();
            channel.configureBlocking(false);
            channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
            key = channel.register(selector, SelectionKey.OP_CONNECT, this);
            if (channel.connect(addr)) {
                write();
            }
        }

        void write() throws IOException {
            channel.write(out);
            key.interestOps(out.hasRemaining() ? SelectionKey.OP_WRITE | SelectionKey.OP_READ : SelectionKey.OP_READ);
        }

        void read() throws IOException {
            readBuf.clear();
            int n = channel.read(readBuf);
            if (n < 0) {
                fail("connection closed by peer in state " + state);
                return;
            }
            long now = System.nanoTime();
            readBuf.flip();
            parse(readBuf, now);
        }

        private void parse(ByteBuffer b, long now) {
            while (b.hasRemaining() && handler != null) {
                switch (state) {
                    case STATUS_HEADERS, CHUNK_SIZE, TRAILERS -> {
                        byte x = b.get();
                        if (x == '\n') {
                            String l = line.toString();
                            line.setLength(0);
                            lineDone(l.endsWith("\r") ? l.substring(0, l.length() - 1) : l);
                        } else {
                            line.append((char) x);
                        }
                    }
                    case BODY_LENGTH, CHUNK_DATA -> {
                        int take = (int) Math.min(remaining, b.remaining());
                        ByteBuffer slice = b.slice(b.position(), take);
                        b.position(b.position() + take);
                        remaining -= take;
                        handler.body(slice, now);
                        if (remaining == 0) {
                            if (state == State.BODY_LENGTH) {
                                complete();
                            } else {
                                state = State.CHUNK_CRLF;
                                remaining = 2;
                            }
                        }
                    }
                    case CHUNK_CRLF -> {
                        b.get();
                        if (--remaining == 0) {
                            state = State.CHUNK_SIZE;
                        }
                    }
                    default -> {
                        fail("unexpected bytes in state " + state);
                        return;
                    }
                }
            }
        }

        private void lineDone(String l) {
            switch (state) {
                case STATUS_HEADERS -> {
                    if (status == 0) {
                        status = Integer.parseInt(l.substring(9, 12));
                    } else if (l.isEmpty()) {
                        if (chunked) {
                            state = State.CHUNK_SIZE;
                        } else if (remaining >= 0) {
                            state = State.BODY_LENGTH;
                            if (remaining == 0) {
                                complete();
                            }
                        } else {
                            fail("response without length");
                        }
                    } else {
                        int colon = l.indexOf(':');
                        String name = l.substring(0, colon).trim().toLowerCase(java.util.Locale.ROOT);
                        String value = l.substring(colon + 1).trim();
                        if (name.equals("content-length")) {
                            remaining = Long.parseLong(value);
                        } else if (name.equals("transfer-encoding") && value.toLowerCase(java.util.Locale.ROOT)
                                .contains("chunked")) {
                            chunked = true;
                        } else if (name.equals("connection") && value.equalsIgnoreCase("close")) {
                            close = true;
                        }
                    }
                }
                case CHUNK_SIZE -> {
                    int semi = l.indexOf(';');
                    long size = Long.parseLong((semi < 0 ? l : l.substring(0, semi)).trim(), 16);
                    if (size == 0) {
                        state = State.TRAILERS;
                    } else {
                        remaining = size;
                        state = State.CHUNK_DATA;
                    }
                }
                case TRAILERS -> {
                    if (l.isEmpty()) {
                        complete();
                    }
                }
                default -> fail("line in state " + state);
            }
        }

        private void complete() {
            Handler h = handler;
            handler = null;
            state = State.IDLE;
            busy.remove(this);
            if (close) {
                closeChannel();
            } else {
                idle.computeIfAbsent(addr, a -> new ArrayDeque<>()).push(this);
            }
            h.done(status, null);
        }

        void fail(String why) {
            Handler h = handler;
            handler = null;
            state = State.IDLE;
            busy.remove(this);
            ArrayDeque<Conn> pool = idle.get(addr);
            if (pool != null) {
                pool.remove(this);
            }
            closeChannel();
            if (h != null) {
                h.done(status, why);
            }
        }

        private void closeChannel() {
            try {
                if (channel != null) {
                    channel.close();
                }
            } catch (IOException e) {
                // closing anyway
            }
        }
    }

    @Override
    public void close() {
        running = false;
        selector.wakeup();
        try {
            thread.join(2000);
            for (SelectionKey k : selector.keys()) {
                k.channel().close();
            }
            selector.close();
        } catch (IOException | InterruptedException e) {
            // shutting down
        }
    }
}
