package dev.parley.itests.weaving;

import java.io.FileInputStream;
import java.io.InputStream;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.reflect.Field;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;
import org.osgi.framework.BundleActivator;
import org.osgi.framework.BundleContext;

/**
 * A plugin that tries, on request, what a hostile plugin would: packed into probe plugin jars by {@link WeavingPlugins}
 * and run by {@code WeavingTest}, which calls {@link #run} on the class the plugin's own class loader defined (so the
 * sandbox wove it). A {@code Probe-At-Activate} header makes its activator try one of them as the plugin starts.
 */
public final class WeavingProbe implements BundleActivator {
    private static volatile BundleContext context;
    private static final List<Thread> THREADS = new CopyOnWriteArrayList<>();
    private static volatile CountDownLatch release = new CountDownLatch(1);
    /** The thread of the {@code spin} action, what ended it, its turns and the errors it caught. */
    public static volatile Thread spinner;
    public static volatile Throwable spinnerEnd;
    public static final AtomicLong TURNS = new AtomicLong();
    public static final AtomicLong CAUGHT = new AtomicLong();

    @Override
    public void start(BundleContext bundleContext) throws Exception {
        context = bundleContext;
        String action = bundleContext.getBundle().getHeaders().get("Probe-At-Activate");
        if (action != null) {
            try {
                run(action, "");
            } catch (Exception | Error e) {
                throw e;
            } catch (Throwable t) {
                throw new IllegalStateException(t);
            }
        }
    }

    @Override
    public void stop(BundleContext bundleContext) throws Exception {
        release.countDown();
        for (Thread t : THREADS) {
            t.join(10_000);
        }
        context = null;
    }

    /** Tries {@code action}; returns what it got, or throws what it was refused with. */
    public static String run(String action, String arg) throws Throwable {
        switch (action) {
            case "exit" -> System.exit(7);
            case "halt" -> Runtime.getRuntime().halt(7);
            case "exec" -> Runtime.getRuntime().exec(new String[] {"true"}).waitFor();
            case "process" -> new ProcessBuilder("true").start().waitFor();
            case "reflective-exit" -> System.class.getMethod("exit", int.class).invoke(null, 7);
            case "handle-exit" -> MethodHandles.lookup().findStatic(System.class, "exit",
                    MethodType.methodType(void.class, int.class)).invoke(7);
            case "environment" -> {
                return Integer.toString(System.getenv().size());
            }
            case "variable" -> {
                return String.valueOf(System.getenv(arg));
            }
            case "read" -> {
                return Files.readString(Path.of(arg));
            }
            case "read-stream" -> {
                try (InputStream in = new FileInputStream(arg)) {
                    return new String(in.readAllBytes());
                }
            }
            case "own-file" -> {
                Path own = context.getDataFile("note.txt").toPath();
                Files.writeString(own, arg);
                return Files.readString(own);
            }
            case "connect" -> {
                int colon = arg.lastIndexOf(':');
                try (Socket s = new Socket()) {
                    s.connect(new InetSocketAddress(arg.substring(0, colon), Integer.parseInt(arg.substring(colon + 1))),
                            5_000);
                    return "connected";
                }
            }
            case "http" -> {
                HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(arg)).build(),
                        HttpResponse.BodyHandlers.ofString());
                return Integer.toString(r.statusCode());
            }
            case "http-follow" -> {
                // A client told to follow every redirect: the JDK would follow them in its own code, unchecked.
                HttpClient c = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.ALWAYS).build();
                HttpResponse<String> r = c.send(HttpRequest.newBuilder(URI.create(arg)).build(),
                        HttpResponse.BodyHandlers.ofString());
                return r.statusCode() + " " + c.followRedirects();
            }
            case "thread" -> {
                CountDownLatch latch = release;
                Thread t = new Thread(() -> {
                    try {
                        latch.await();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }, "weaving-probe-" + THREADS.size());
                t.start();
                THREADS.add(t);
                return "started";
            }
            case "release" -> {
                release.countDown();
                for (Thread t : THREADS) {
                    t.join(10_000);
                }
                THREADS.clear();
                release = new CountDownLatch(1);
                return "released";
            }
            case "spin" -> {
                Thread t = new Thread(WeavingProbe::spin, "weaving-probe-spinner");
                t.setUncaughtExceptionHandler((thread, e) -> spinnerEnd = e);
                spinner = t;
                t.start();
                return "spinning";
            }
            case "set-accessible" -> {
                // A private field of a class it did not load (the framework's, in no named module, so only the
                // run-time check stands in the way), or with "own" one of its own class.
                Field f = "own".equals(arg) ? WeavingProbe.class.getDeclaredField("release")
                        : org.osgi.framework.Version.class.getDeclaredField(arg);
                f.setAccessible(true);
                return "accessible";
            }
            case "executor" -> {
                ExecutorService pool = Executors.newSingleThreadExecutor();
                try {
                    return pool.submit(() -> "ran").get();
                } finally {
                    pool.shutdown();
                }
            }
            default -> throw new IllegalArgumentException(action);
        }
        return "returned"; // only when the call above did not stop the server
    }

    /** Loops for ever: ignores interrupts and its plugin's stop, and catches everything thrown inside. */
    private static void spin() {
        while (true) {
            try {
                while (true) {
                    TURNS.incrementAndGet();
                    Thread.interrupted();
                }
            } catch (Throwable t) { // NOPMD: what a hostile plugin does
                CAUGHT.incrementAndGet();
            }
        }
    }
}
