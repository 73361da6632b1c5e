package dev.parley.ratelimit.internal;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * A TCP relay between a client and a server (here: the limiter and Redis) that a test can cut and restore, or freeze
 * and thaw. Cut: every
 * open connection is closed and new ones are closed as soon as they are accepted (a connection reset for the client).
 * The listening port stays the same, so the client's own reconnection finds the server again once it is restored.
 */
final class TcpProxy implements AutoCloseable {
    private final InetSocketAddress target;
    private final ServerSocket server;
    private final ExecutorService threads = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "tcp-proxy");
        t.setDaemon(true);
        return t;
    });
    private final Set<Socket> open = ConcurrentHashMap.newKeySet();
    private volatile boolean cut;
    /** Open while bytes flow; a frozen proxy holds what it read until it is thawed (a Redis that stops answering). */
    private volatile CountDownLatch flowing = new CountDownLatch(0);

    TcpProxy(String host, int port) throws IOException {
        this.target = new InetSocketAddress(host, port);
        this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        threads.execute(this::accept);
    }

    int port() {
        return server.getLocalPort();
    }

    void cut() {
        cut = true;
        for (Socket s : open) {
            closeQuietly(s);
        }
    }

    void restore() {
        cut = false;
    }

    /** Connections stay open but nothing passes: calls wait until they time out. */
    void freeze() {
        flowing = new CountDownLatch(1);
    }

    /** What was held passes on, in order, and bytes flow again. */
    void thaw() {
        flowing.countDown();
    }

    private void accept() {
        while (!server.isClosed()) {
            try {
                Socket client = server.accept();
                if (cut) {
                    closeQuietly(client);
                    continue;
                }
                Socket upstream = new Socket();
                upstream.connect(target, 1000);
                open.add(client);
                open.add(upstream);
                threads.execute(() -> pump(client, upstream));
                threads.execute(() -> pump(upstream, client));
            } catch (IOException e) {
                // The server socket closed (end of test) or Redis refused: the client sees its connection end.
            }
        }
    }

    private void pump(Socket from, Socket to) {
        byte[] buffer = new byte[8192];
        try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
            int n;
            while ((n = in.read(buffer)) >= 0) {
                flowing.await();
                out.write(buffer, 0, n);
                out.flush();
            }
        } catch (IOException | InterruptedException e) {
            // One side closed (or the test ended): close both.
        } finally {
            closeQuietly(from);
            closeQuietly(to);
            open.remove(from);
            open.remove(to);
        }
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException e) {
            // already closed
        }
    }

    @Override
    public void close() throws IOException {
        thaw();
        cut();
        server.close();
        threads.shutdownNow();
    }
}
