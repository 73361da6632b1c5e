package dev.parley.sandbox.hooks.internal;

import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.RandomAccessFile;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.function.IntConsumer;

/**
 * Plugin-like code for {@link CallSiteWeaverTest}: each method makes one call the weaver checks. The test weaves this
 * class file and loads the result in a class loader of its own; unwoven, {@link #exit} would end the test JVM.
 */
public final class WovenProbe {
    private WovenProbe() {
    }

    public static void exit() {
        System.exit(3);
    }

    public static Map<String, String> environment() {
        return System.getenv();
    }

    public static String variable(String name) {
        return System.getenv(name);
    }

    /** Branches, a long and a try/catch around the checked call: the stack map frames must stay valid. */
    public static byte[] read(String path, long skip, boolean twice) throws IOException {
        byte[] result = null;
        for (int i = 0; i < (twice ? 2 : 1); i++) {
            try (InputStream in = new FileInputStream(path)) {
                in.skip(skip);
                result = in.readAllBytes();
            } catch (IOException e) {
                if (skip < 0) {
                    throw e;
                }
            }
        }
        return result;
    }

    public static String randomAccess(String path, String mode) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(path, mode)) {
            return f.readLine();
        }
    }

    public static void copy(Path from, Path to) throws IOException {
        Files.copy(from, to);
    }

    public static boolean exists(Path path) {
        return Files.exists(path);
    }

    public static void connect(int port) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 2_000);
        }
    }

    public static void connectInConstructor(int port) throws IOException {
        new Socket("localhost", port).close();
    }

    public static Thread startThread(CountDownLatch done) {
        Thread t = new Thread(done::countDown, "woven-probe");
        t.start();
        return t;
    }

    public static Object reflectiveExit() throws Exception {
        return System.class.getMethod("exit", int.class).invoke(null, 4);
    }

    public static IntConsumer exitReference() {
        return System::exit;
    }

    public static String untouched(String s) {
        return s.strip();
    }

    /** Says it started, then loops for ever, ignoring interrupts: only a check at a turn of the loop ends it. */
    public static void spin(CountDownLatch started) {
        started.countDown();
        while (true) {
            Thread.interrupted();
        }
    }

    /** The redirect policy of a JDK HTTP client built asking for {@code asked}. */
    public static java.net.http.HttpClient.Redirect redirects(java.net.http.HttpClient.Redirect asked) {
        return java.net.http.HttpClient.newBuilder().followRedirects(asked).build().followRedirects();
    }
}
