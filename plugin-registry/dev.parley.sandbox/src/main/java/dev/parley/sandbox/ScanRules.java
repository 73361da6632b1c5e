package dev.parley.sandbox;

import java.util.List;
import java.util.Optional;

/**
 * The bytecode rules admission checks every class against: the one table of what a plugin's code must not use unless a
 * permission it declares covers it. To add a rule, add a row; {@link BytecodeScanner} compiles the patterns once.
 *
 * <p>Patterns (class names in the JVM's internal form, {@code java/lang/System}):
 * <ul>
 * <li>{@code call Owner.member} — a method call, field access, or method reference (a method handle, e.g. a lambda
 *     {@code ProcessBuilder::start}) of that member; {@code member} may end in {@code *} (a prefix), may be
 *     {@code *} (any member, constructors included), and may be followed by the start of its descriptor,
 *     {@code getBundle(J)}. A constructor is {@code <init>}; a subclass's constructor calls its super class's, so
 *     {@code call java/lang/Thread.<init>} also finds every subclass of {@code Thread} that is created.</li>
 * <li>{@code call a/b/**} — any member of any class in package {@code a.b} and below.</li>
 * <li>{@code extends Owner} / {@code extends a/b/**} — a class that extends or implements it.</li>
 * <li>{@code native} — a method declared {@code native} (JNI).</li>
 * <li>{@code name a.b.C} — a string constant that names the class, as reflection by name does
 *     ({@code Class.forName("java.lang.ProcessBuilder")}).</li>
 * </ul>
 * What a static scan cannot see (reflection on names built at run time, code generated at run time) is the run-time
 * sandbox's to stop; this table makes sure the direct uses are seen before anything runs.
 */
public final class ScanRules {

    /**
     * One rule.
     *
     * @param id        stable id, in policies ({@code reportOnly}), refusals and the audit trail
     * @param title     what it guards against, for admins
     * @param coveredBy the permission kind whose declaration allows the use ({@code network}, {@code file},
     *                  {@code thread}), or null when no permission does
     * @param patterns  where it applies (see the class comment)
     */
    public record Rule(String id, String title, String coveredBy, List<String> patterns) {
    }

    /** Produced by the scanner itself for a class file it cannot read (so cannot check). */
    public static final String UNREADABLE = "unreadable";

    public static final List<Rule> ALL = List.of(
            new Rule("process", "starting a process runs code outside the sandbox", null, List.of(
                    "call java/lang/ProcessBuilder.*",
                    "call java/lang/Runtime.exec",
                    "call java/lang/ProcessHandle.*",
                    "name java.lang.ProcessBuilder",
                    "name java.lang.ProcessHandle",
                    "name java.lang.Runtime")),
            new Rule("exit", "System.exit, Runtime.halt and shutdown hooks stop or hook the whole server", null, List.of(
                    "call java/lang/System.exit",
                    "call java/lang/Runtime.exit",
                    "call java/lang/Runtime.halt",
                    "call java/lang/Runtime.addShutdownHook")),
            new Rule("reflection", "reflection that breaks encapsulation reaches other code's private state", null, List.of(
                    "call java/lang/reflect/AccessibleObject.setAccessible",
                    "call java/lang/reflect/AccessibleObject.trySetAccessible",
                    "call java/lang/reflect/Field.setAccessible",
                    "call java/lang/reflect/Field.trySetAccessible",
                    "call java/lang/reflect/Method.setAccessible",
                    "call java/lang/reflect/Method.trySetAccessible",
                    "call java/lang/reflect/Constructor.setAccessible",
                    "call java/lang/reflect/Constructor.trySetAccessible",
                    "call java/lang/reflect/Executable.setAccessible",
                    "call java/lang/invoke/MethodHandles.privateLookupIn",
                    "call java/lang/Module.addOpens")),
            new Rule("unsafe", "sun.misc.Unsafe and JDK internals bypass the JVM's memory safety", null, List.of(
                    "call sun/misc/Unsafe.*",
                    "call jdk/internal/**",
                    "call sun/reflect/**",
                    "name sun.misc.Unsafe",
                    "name jdk.internal.misc.Unsafe")),
            new Rule("classloader", "a class loader of its own defines code the scan never saw", null, List.of(
                    "call java/lang/ClassLoader.<init>",
                    "call java/lang/ClassLoader.defineClass",
                    "call java/security/SecureClassLoader.<init>",
                    "call java/net/URLClassLoader.<init>",
                    "call java/net/URLClassLoader.newInstance",
                    "call java/lang/invoke/MethodHandles$Lookup.defineClass",
                    "call java/lang/invoke/MethodHandles$Lookup.defineHiddenClass")),
            new Rule("native", "native code (JNI, native libraries, the foreign function API) runs outside the JVM's checks", null, List.of(
                    "native",
                    "call java/lang/System.load",
                    "call java/lang/System.loadLibrary",
                    "call java/lang/Runtime.load",
                    "call java/lang/Runtime.loadLibrary",
                    "call java/lang/foreign/**")),
            new Rule("file", "file system access", "file", List.of(
                    "call java/io/File.*",
                    "call java/io/FileInputStream.*",
                    "call java/io/FileOutputStream.*",
                    "call java/io/FileReader.*",
                    "call java/io/FileWriter.*",
                    "call java/io/RandomAccessFile.*",
                    "call java/nio/file/**",
                    "call java/nio/channels/FileChannel.open")),
            new Rule("network", "network connections", "network", List.of(
                    "call java/net/Socket.*",
                    "call java/net/ServerSocket.*",
                    "call java/net/DatagramSocket.*",
                    "call java/net/MulticastSocket.*",
                    "call java/net/URL.openConnection",
                    "call java/net/URL.openStream",
                    "call java/net/http/HttpClient.*",
                    "call java/nio/channels/SocketChannel.open",
                    "call java/nio/channels/ServerSocketChannel.open",
                    "call java/nio/channels/DatagramChannel.open",
                    "call java/nio/channels/AsynchronousSocketChannel.open",
                    "call java/nio/channels/AsynchronousServerSocketChannel.open",
                    "call javax/net/SocketFactory.*",
                    "call javax/net/ServerSocketFactory.*",
                    "call javax/net/ssl/SSLSocketFactory.*")),
            new Rule("thread", "threads of its own outlive the calls into it and escape their limits", "thread", List.of(
                    "call java/lang/Thread.<init>",
                    "call java/lang/Thread.ofPlatform",
                    "call java/lang/Thread.ofVirtual",
                    "call java/lang/Thread.startVirtualThread",
                    "call java/util/concurrent/Executors.new*",
                    "call java/util/concurrent/ThreadPoolExecutor.<init>",
                    "call java/util/concurrent/ScheduledThreadPoolExecutor.<init>",
                    "call java/util/concurrent/ForkJoinPool.<init>",
                    "call java/util/Timer.<init>")),
            new Rule("framework", "reaching other bundles or the framework itself (the system bundle)", null, List.of(
                    "call org/osgi/framework/BundleContext.getBundle(J)",
                    "call org/osgi/framework/BundleContext.getBundle(Ljava/lang/String;)",
                    "call org/osgi/framework/BundleContext.getBundles",
                    "call org/osgi/framework/BundleContext.installBundle",
                    "call org/osgi/framework/FrameworkUtil.getBundle",
                    "call org/osgi/framework/Bundle.getBundleContext",
                    "call org/osgi/framework/Bundle.uninstall",
                    "call org/osgi/framework/Bundle.stop",
                    "call org/osgi/framework/Bundle.update",
                    "call org/osgi/framework/Bundle.adapt",
                    "call org/osgi/framework/launch/**",
                    "call org/osgi/framework/wiring/FrameworkWiring.*",
                    "call org/osgi/framework/startlevel/FrameworkStartLevel.*",
                    "extends org/osgi/framework/hooks/**")),
            new Rule("environment", "the server's environment variables hold its secrets", null, List.of(
                    "call java/lang/System.getenv")),
            new Rule(UNREADABLE, "a class file that cannot be read cannot be checked", null, List.of()));

    private ScanRules() {
    }

    public static Optional<Rule> byId(String id) {
        return ALL.stream().filter(r -> r.id().equals(id)).findFirst();
    }
}
