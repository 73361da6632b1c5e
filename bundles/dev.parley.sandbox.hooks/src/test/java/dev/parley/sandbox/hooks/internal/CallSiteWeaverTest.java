package dev.parley.sandbox.hooks.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.parley.sandbox.hooks.runtime.CallChecks;
import dev.parley.sandbox.hooks.runtime.CheckKind;
import dev.parley.sandbox.hooks.runtime.PluginChecks;
import dev.parley.sandbox.hooks.runtime.PluginStopped;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntConsumer;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The weaver alone: {@link WovenProbe}'s class file woven with a token, defined by a class loader of the test (the JVM
 * verifies it), and run against checks that record each call and refuse what the test says.
 */
class CallSiteWeaverTest {
    static final String TOKEN = "token-of-the-probe";

    record Seen(CheckKind kind, Object target, Object detail, String call, String token) {
    }

    final List<Seen> seen = new CopyOnWriteArrayList<>();
    volatile Predicate<Seen> refuse = s -> false;
    Class<?> probe;

    @BeforeEach
    void setUp() throws Exception {
        PluginChecks.install((CallChecks) (kind, target, detail, call, token) -> {
            Seen s = new Seen(kind, target, detail, call, token);
            seen.add(s);
            if (refuse.test(s)) {
                throw new SecurityException("refused " + kind + " " + target);
            }
        });
        probe = new WovenLoader(WovenProbe.class.getName(), weave(WovenProbe.class)).loadClass(
                WovenProbe.class.getName());
    }

    @AfterEach
    void tearDown() {
        PluginChecks.install(null);
    }

    static byte[] classFile(Class<?> c) {
        try (InputStream in = c.getResourceAsStream("/" + c.getName().replace('.', '/') + ".class")) {
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static byte[] weave(Class<?> c) {
        return CallSiteWeaver.weave(classFile(c), TOKEN);
    }

    Object call(String name, Object... args) throws Throwable {
        for (Method m : probe.getMethods()) {
            if (m.getName().equals(name) && m.getParameterCount() == args.length) {
                try {
                    return m.invoke(null, args);
                } catch (InvocationTargetException e) {
                    throw e.getCause();
                }
            }
        }
        throw new AssertionError("no method " + name);
    }

    @Test
    void systemExitIsCheckedFirstAndARefusalStopsIt() {
        refuse = s -> s.kind() == CheckKind.EXIT;
        // Unwoven, this would end the test JVM.
        assertThatThrownBy(() -> call("exit")).isInstanceOf(SecurityException.class);
        assertThat(seen).containsExactly(new Seen(CheckKind.EXIT, null, null, "java.lang.System.exit", TOKEN));
    }

    @Test
    void theEnvironmentIsReplacedByWhatTheChecksAllow() throws Throwable {
        refuse = s -> s.kind() == CheckKind.ENVIRONMENT;
        assertThat(System.getenv()).isNotEmpty();
        assertThat((Map<?, ?>) call("environment")).isEmpty();
        assertThat(call("variable", "PATH")).isNull();
        assertThat(seen).extracting(Seen::kind).containsExactly(CheckKind.ENVIRONMENT, CheckKind.ENVIRONMENT);
        assertThat(seen.get(1).target()).isEqualTo("PATH");

        refuse = s -> false; // a tier that only reports: the plugin gets the real answer
        assertThat(call("variable", "PATH")).isEqualTo(System.getenv("PATH"));
    }

    @Test
    void aFileIsCheckedWithThePathTheCodeGaveAcrossBranchesAndHandlers(@TempDir Path dir) throws Throwable {
        Path file = Files.writeString(dir.resolve("a.txt"), "hello");
        assertThat((byte[]) call("read", file.toString(), 1L, true)).asString(StandardCharsets.UTF_8)
                .isEqualTo("ello");
        assertThat(seen).hasSize(2).allSatisfy(s -> assertThat(s).isEqualTo(new Seen(CheckKind.FILE_READ,
                file.toString(), null, "java.io.FileInputStream.<init>", TOKEN)));

        refuse = s -> s.kind() == CheckKind.FILE_READ;
        assertThatThrownBy(() -> call("read", file.toString(), 0L, false)).isInstanceOf(SecurityException.class);
    }

    @Test
    void constructorsAndStaticCallsWithSeveralOperandsPassTheRightOnes(@TempDir Path dir) throws Throwable {
        Path from = Files.writeString(dir.resolve("from.txt"), "line");
        Path to = dir.resolve("to.txt");
        assertThat(call("randomAccess", from.toString(), "r")).isEqualTo("line");
        call("copy", from, to);

        assertThat(Files.readString(to)).isEqualTo("line");
        assertThat(seen).containsExactly(
                new Seen(CheckKind.FILE_OPEN, from.toString(), "r", "java.io.RandomAccessFile.<init>", TOKEN),
                new Seen(CheckKind.FILE_READ, from, null, "java.nio.file.Files.copy", TOKEN),
                new Seen(CheckKind.FILE_WRITE, to, null, "java.nio.file.Files.copy", TOKEN));
    }

    @Test
    void aRefusedPathDoesNotExistForThePlugin(@TempDir Path dir) throws Throwable {
        assertThat(call("exists", dir)).isEqualTo(true);
        refuse = s -> s.kind() == CheckKind.FILE_READ;
        assertThat(call("exists", dir)).isEqualTo(false);
    }

    @Test
    void aConnectionIsCheckedWithItsAddressBeforeItIsMade() throws Throwable {
        try (ServerSocket server = new ServerSocket(0)) {
            int port = server.getLocalPort();
            call("connect", port);
            try (Socket accepted = server.accept()) {
                assertThat(accepted.isConnected()).isTrue();
            }
            assertThat(seen).singleElement().satisfies(s -> {
                assertThat(s.kind()).isEqualTo(CheckKind.NETWORK);
                assertThat(s.target()).hasToString("/127.0.0.1:" + port);
                assertThat(s.call()).isEqualTo("java.net.Socket.connect");
            });

            refuse = s -> s.kind() == CheckKind.NETWORK;
            assertThatThrownBy(() -> call("connectInConstructor", port)).isInstanceOf(SecurityException.class);
            assertThat(seen.get(1)).isEqualTo(new Seen(CheckKind.NETWORK, "localhost", port,
                    "java.net.Socket.<init>", TOKEN));
        }
    }

    @Test
    void aThreadIsCheckedBeforeItStarts() throws Throwable {
        CountDownLatch ran = new CountDownLatch(1);
        Thread t = (Thread) call("startThread", ran);
        assertThat(ran.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(seen).anySatisfy(s -> assertThat(s).isEqualTo(new Seen(CheckKind.THREAD_START, t, null,
                "java.lang.Thread.start", TOKEN)));

        refuse = s -> s.kind() == CheckKind.THREAD_START;
        CountDownLatch never = new CountDownLatch(1);
        assertThatThrownBy(() -> call("startThread", never)).isInstanceOf(SecurityException.class);
        assertThat(never.getCount()).isEqualTo(1);
    }

    @Test
    void reflectionAndMethodReferencesAreCheckedWhereTheyAreMade() throws Throwable {
        refuse = s -> s.kind() == CheckKind.REFLECT || s.kind() == CheckKind.METHOD_REFERENCE;
        assertThatThrownBy(() -> call("reflectiveExit")).isInstanceOf(SecurityException.class);
        assertThat(seen).singleElement().satisfies(s -> {
            assertThat(s.kind()).isEqualTo(CheckKind.REFLECT);
            assertThat(s.target()).isEqualTo(System.class.getMethod("exit", int.class));
            assertThat(s.call()).isEqualTo("java.lang.reflect.Method.invoke");
        });
        assertThatThrownBy(() -> call("exitReference")).isInstanceOf(SecurityException.class);
        assertThat(seen.get(1)).isEqualTo(new Seen(CheckKind.METHOD_REFERENCE, "java.lang.System.exit", null,
                "java.lang.System.exit", TOKEN));

        refuse = s -> s.kind() != CheckKind.METHOD_REFERENCE;
        assertThat(call("exitReference")).isInstanceOf(IntConsumer.class);
    }

    @Test
    void aLoopAsksTheChecksAtEveryTurnOnlyWhileAPluginIsStoppingAndEndsWhenTheyThrow() throws Exception {
        AtomicInteger asked = new AtomicInteger();
        CountDownLatch askedOnce = new CountDownLatch(1);
        AtomicBoolean stop = new AtomicBoolean();
        PluginChecks.install(new CallChecks() {
            @Override
            public void check(CheckKind kind, Object target, Object detail, String call, String token) {
            }

            @Override
            public void loop(String token) {
                assertThat(token).isEqualTo(TOKEN);
                asked.incrementAndGet();
                askedOnce.countDown();
                if (stop.get()) {
                    throw new PluginStopped("stopped " + token);
                }
            }
        });
        CountDownLatch spinning = new CountDownLatch(1);
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try {
            Future<Object> spin = pool.submit(() -> {
                try {
                    return call("spin", spinning);
                } catch (Error | Exception e) {
                    throw e;
                } catch (Throwable t) {
                    throw new IllegalStateException(t);
                }
            });
            assertThat(spinning.await(10, TimeUnit.SECONDS)).isTrue();
            // No plugin is stopping: the loop turns without asking (and an interrupt does not end it).
            pool.shutdownNow();
            assertThat(asked).hasValue(0);
            PluginChecks.stopping(true);
            assertThat(askedOnce.await(10, TimeUnit.SECONDS)).isTrue();
            assertThat(spin).isNotDone();
            stop.set(true);
            assertThatThrownBy(() -> spin.get(10, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
                    .cause().isInstanceOf(PluginStopped.class).hasMessage("stopped " + TOKEN);
        } finally {
            PluginChecks.stopping(false);
            stop.set(true);
            pool.shutdownNow();
        }
    }

    @Test
    void anHttpClientFollowsNoRedirectsUnlessTheChecksAllowIt() throws Throwable {
        refuse = s -> s.kind() == CheckKind.REDIRECT;
        assertThat(call("redirects", HttpClient.Redirect.NORMAL)).isEqualTo(HttpClient.Redirect.NEVER);
        assertThat(call("redirects", HttpClient.Redirect.ALWAYS)).isEqualTo(HttpClient.Redirect.NEVER);
        assertThat(seen).contains(new Seen(CheckKind.REDIRECT, HttpClient.Redirect.NORMAL, null,
                "java.net.http.HttpClient$Builder.followRedirects", TOKEN));
        seen.clear();
        assertThat(call("redirects", HttpClient.Redirect.NEVER)).isEqualTo(HttpClient.Redirect.NEVER);
        assertThat(seen).noneMatch(s -> s.kind() == CheckKind.REDIRECT);
        refuse = s -> false; // a tier that only reports
        assertThat(call("redirects", HttpClient.Redirect.NORMAL)).isEqualTo(HttpClient.Redirect.NORMAL);
    }

    @Test
    void aClassThatCallsNothingCheckedIsLeftAsItIs() {
        assertThat(CallSiteWeaver.weave(classFile(Seen.class), TOKEN)).isNull();
        assertThat(CallSiteWeaver.calls(weave(WovenProbe.class), List.of("exit", "network", "fileRead"))).isTrue();
    }

    @Test
    void onlyTheSandboxsOwnCodeInstallsChecks() throws Exception {
        // A class of another loader (as a plugin's would be) calling install is refused.
        Class<?> other = new WovenLoader(Installer.class.getName(), classFile(Installer.class)).loadClass(
                Installer.class.getName());
        Method install = other.getMethod("installNone");
        assertThatThrownBy(() -> {
            try {
                install.invoke(null);
            } catch (InvocationTargetException e) {
                throw e.getCause();
            }
        }).isInstanceOf(SecurityException.class).hasMessageContaining("only the plugin sandbox");
    }

    /** Tries to take the checks away. */
    public static final class Installer {
        public static void installNone() {
            PluginChecks.install(null);
        }
    }

    /** Defines one class from the given bytes and leaves every other to its parent (the test's loader). */
    static final class WovenLoader extends ClassLoader {
        private final String name;
        private final byte[] bytes;

        WovenLoader(String name, byte[] bytes) {
            super(CallSiteWeaverTest.class.getClassLoader());
            this.name = name;
            this.bytes = bytes;
        }

        @Override
        protected Class<?> loadClass(String n, boolean resolve) throws ClassNotFoundException {
            if (n.equals(name)) {
                synchronized (getClassLoadingLock(n)) {
                    Class<?> c = findLoadedClass(n);
                    return c != null ? c : defineClass(n, bytes, 0, bytes.length);
                }
            }
            return super.loadClass(n, resolve);
        }
    }
}
