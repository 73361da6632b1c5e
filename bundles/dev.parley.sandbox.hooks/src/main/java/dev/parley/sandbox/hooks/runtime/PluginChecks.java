package dev.parley.sandbox.hooks.runtime;

import java.io.IOException;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Map;

/**
 * The calls the sandbox weaves into plugin classes (ADR 30). Each check takes what the original call would reach,
 * the JDK method's name and the plugin's token (a random string the weaving hook puts into that plugin's classes),
 * and returns when the call may proceed or throws {@link SecurityException}. The call itself then runs as written,
 * in the plugin's class, so caller-sensitive JDK methods still see the plugin as their caller. A few calls are
 * replaced instead, because what the plugin gets back changes: {@code System.getenv} (no environment) and the
 * {@code Files} queries (a refused path does not exist for the plugin).
 *
 * <p>Static because woven code can only make static calls into a package it imports; the decisions are the sandbox's
 * {@link CallChecks}, installed by the sandbox bundle's activator (and only by code of this bundle). Without it every
 * check refuses: a plugin class loaded while the sandbox is stopped runs nothing it guards.
 */
public final class PluginChecks {
    private static volatile CallChecks checks;
    /** Whether some plugin was stopped and its code may still be running: only then do loops ask the checks. */
    private static volatile boolean stopping;

    private PluginChecks() {
    }

    /**
     * Puts the sandbox's decisions in place (null: none, every check refuses). Only classes of the bundle this class
     * belongs to may call it.
     */
    public static void install(CallChecks c) {
        Class<?> caller = StackWalker.getInstance(StackWalker.Option.RETAIN_CLASS_REFERENCE).getCallerClass();
        if (caller.getClassLoader() != PluginChecks.class.getClassLoader()) {
            throw new SecurityException("only the plugin sandbox installs its checks");
        }
        checks = c;
    }

    /**
     * Whether loops in plugin classes ask the checks on every turn ({@link CallChecks#loop}); set while a stopped
     * plugin's code may still run. Only classes of the bundle this class belongs to may call it.
     */
    public static void stopping(boolean on) {
        Class<?> caller = StackWalker.getInstance(StackWalker.Option.RETAIN_CLASS_REFERENCE).getCallerClass();
        if (caller.getClassLoader() != PluginChecks.class.getClassLoader()) {
            throw new SecurityException("only the plugin sandbox stops plugin code");
        }
        stopping = on;
    }

    /**
     * Woven before every backward jump (each turn of a loop) in a plugin's classes: one read of a volatile field
     * unless a plugin was stopped, then the checks decide whether this plugin's code may run on
     * ({@link CallChecks#loop}). A loop that ignores interrupts thus ends when its plugin is stopped.
     */
    public static void loop(String token) {
        if (stopping) {
            CallChecks c = checks;
            if (c != null) {
                c.loop(token);
            }
        }
    }

    private static void check(CheckKind kind, Object target, Object detail, String call, String token) {
        CallChecks c = checks;
        if (c == null) {
            throw new SecurityException("the plugin sandbox is not running: " + call + " refused");
        }
        c.check(kind, target, detail, call, token);
    }

    // Checks woven before the original call. Reference arguments are typed Object: the woven code passes whatever
    // static type the call site has.

    public static void exit(String call, String token) {
        check(CheckKind.EXIT, null, null, call, token);
    }

    public static void process(String call, String token) {
        check(CheckKind.PROCESS, null, null, call, token);
    }

    public static void network(Object target, String call, String token) {
        check(CheckKind.NETWORK, target, null, call, token);
    }

    public static void network(Object host, int port, String call, String token) {
        check(CheckKind.NETWORK, host, port, call, token);
    }

    public static void fileRead(Object path, String call, String token) {
        check(CheckKind.FILE_READ, path, null, call, token);
    }

    public static void fileWrite(Object path, String call, String token) {
        check(CheckKind.FILE_WRITE, path, null, call, token);
    }

    public static void fileOpen(Object path, Object options, String call, String token) {
        check(CheckKind.FILE_OPEN, path, options, call, token);
    }

    public static void tempFile(String call, String token) {
        check(CheckKind.TEMP_FILE, null, null, call, token);
    }

    public static void threadStart(Object thread, String call, String token) {
        check(CheckKind.THREAD_START, thread, null, call, token);
    }

    public static void threads(String call, String token) {
        check(CheckKind.THREADS, null, null, call, token);
    }

    public static void reflect(Object member, String call, String token) {
        check(CheckKind.REFLECT, member, null, call, token);
    }

    public static void lookup(Object refc, Object name, String call, String token) {
        check(CheckKind.LOOKUP, refc, name, call, token);
    }

    public static void lookupConstructor(Object refc, String call, String token) {
        check(CheckKind.LOOKUP, refc, "<init>", call, token);
    }

    public static void privateLookup(Object target, String call, String token) {
        check(CheckKind.PRIVATE_LOOKUP, target, null, call, token);
    }

    public static void methodReference(String call, String token) {
        check(CheckKind.METHOD_REFERENCE, call, null, call, token);
    }

    // Calls replaced: the plugin gets another answer when refused.

    /** {@code System.getenv()}: an empty map unless the plugin's tier only reports. */
    public static Map<String, String> getenv(String token) {
        try {
            check(CheckKind.ENVIRONMENT, null, null, "java.lang.System.getenv", token);
        } catch (SecurityException e) {
            return Map.of();
        }
        return System.getenv();
    }

    /** {@code System.getenv(name)}: null unless the plugin's tier only reports. */
    public static String getenv(String name, String token) {
        try {
            check(CheckKind.ENVIRONMENT, name, null, "java.lang.System.getenv", token);
        } catch (SecurityException e) {
            return null;
        }
        return System.getenv(name);
    }

    /**
     * {@code HttpClient.Builder.followRedirects(policy)}: {@code NEVER} unless the plugin's tier only reports. The JDK
     * follows a redirect in its own code, which no check sees, so a plugin's client gets the 3xx answer instead and
     * can follow it with a request of its own (checked like any other).
     */
    public static HttpClient.Redirect redirects(HttpClient.Redirect policy, String token) {
        if (policy == null || policy == HttpClient.Redirect.NEVER) {
            return policy;
        }
        try {
            check(CheckKind.REDIRECT, policy, null, "java.net.http.HttpClient$Builder.followRedirects", token);
        } catch (SecurityException e) {
            return HttpClient.Redirect.NEVER;
        }
        return policy;
    }

    private static boolean readable(Path path, String call, String token) {
        try {
            check(CheckKind.FILE_READ, path, null, call, token);
            return true;
        } catch (SecurityException e) {
            return false;
        }
    }

    public static boolean exists(Path path, LinkOption[] options, String token) {
        return readable(path, "java.nio.file.Files.exists", token) && Files.exists(path, options);
    }

    public static boolean notExists(Path path, LinkOption[] options, String token) {
        return !readable(path, "java.nio.file.Files.notExists", token) || Files.notExists(path, options);
    }

    public static boolean isRegularFile(Path path, LinkOption[] options, String token) {
        return readable(path, "java.nio.file.Files.isRegularFile", token) && Files.isRegularFile(path, options);
    }

    public static boolean isDirectory(Path path, LinkOption[] options, String token) {
        return readable(path, "java.nio.file.Files.isDirectory", token) && Files.isDirectory(path, options);
    }

    public static boolean isSymbolicLink(Path path, String token) {
        return readable(path, "java.nio.file.Files.isSymbolicLink", token) && Files.isSymbolicLink(path);
    }

    public static boolean isReadable(Path path, String token) {
        return readable(path, "java.nio.file.Files.isReadable", token) && Files.isReadable(path);
    }

    public static boolean isWritable(Path path, String token) {
        return readable(path, "java.nio.file.Files.isWritable", token) && Files.isWritable(path);
    }

    public static boolean isExecutable(Path path, String token) {
        return readable(path, "java.nio.file.Files.isExecutable", token) && Files.isExecutable(path);
    }

    public static boolean isHidden(Path path, String token) throws IOException {
        return readable(path, "java.nio.file.Files.isHidden", token) && Files.isHidden(path);
    }
}
