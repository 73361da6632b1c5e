package dev.parley.sandbox.hooks.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.objectweb.asm.Opcodes;
import org.objectweb.asm.Type;

/**
 * The JDK calls woven in plugin classes, and what each is checked for (ADR 30). The admission scan's table
 * ({@code dev.parley.sandbox.ScanRules}) names what is dangerous; this is the part of it that can be checked as the
 * call is made, with its target in hand. Data, read by {@link CallSiteWeaver} at weave time and by
 * {@link RuntimeEnforcement} when a plugin reaches one of these methods through reflection.
 *
 * <p>A check is woven before the call ({@link Check}: a static method of {@code PluginChecks} given some of the call's
 * operands); a few calls are replaced ({@link #REPLACED}) because the plugin gets another answer.
 */
final class CallSites {
    private CallSites() {
    }

    static final String RUNTIME = "dev/parley/sandbox/hooks/runtime/PluginChecks";

    /**
     * One check before a call.
     *
     * @param method   the {@code PluginChecks} method
     * @param operands which operands it is given: for an instance method 0 is the receiver and the arguments follow;
     *                 for a static method or a constructor 0 is the first argument
     */
    record Check(String method, int... operands) {
    }

    /** A matched call site: the checks to weave before it. */
    record Site(String rule, List<Check> checks) {
    }

    private record Entry(String owner, String name, String descPrefix, Site site) {
        boolean matches(String o, String n, String d) {
            return (owner.equals("*") || owner.equals(o)) && (name.equals(n)
                    || name.endsWith("*") && n.startsWith(name.substring(0, name.length() - 1)))
                    && (descPrefix == null || d.startsWith(descPrefix));
        }
    }

    /** Calls replaced by a {@code PluginChecks} method of the same name taking the operands and the token. */
    static final Map<String, String> REPLACED = Map.ofEntries(
            Map.entry("java/lang/System.getenv()Ljava/util/Map;", "getenv"),
            Map.entry("java/lang/System.getenv(Ljava/lang/String;)Ljava/lang/String;", "getenv"),
            Map.entry("java/nio/file/Files.exists(Ljava/nio/file/Path;[Ljava/nio/file/LinkOption;)Z", "exists"),
            Map.entry("java/nio/file/Files.notExists(Ljava/nio/file/Path;[Ljava/nio/file/LinkOption;)Z", "notExists"),
            Map.entry("java/nio/file/Files.isRegularFile(Ljava/nio/file/Path;[Ljava/nio/file/LinkOption;)Z",
                    "isRegularFile"),
            Map.entry("java/nio/file/Files.isDirectory(Ljava/nio/file/Path;[Ljava/nio/file/LinkOption;)Z",
                    "isDirectory"),
            Map.entry("java/nio/file/Files.isSymbolicLink(Ljava/nio/file/Path;)Z", "isSymbolicLink"),
            Map.entry("java/nio/file/Files.isReadable(Ljava/nio/file/Path;)Z", "isReadable"),
            Map.entry("java/nio/file/Files.isWritable(Ljava/nio/file/Path;)Z", "isWritable"),
            Map.entry("java/nio/file/Files.isExecutable(Ljava/nio/file/Path;)Z", "isExecutable"),
            Map.entry("java/nio/file/Files.isHidden(Ljava/nio/file/Path;)Z", "isHidden"));

    /**
     * Calls whose argument is replaced by what a {@code PluginChecks} method of the given name returns for it and the
     * token, before the call runs as written: the JDK's HTTP client follows redirects in JDK code, which is not woven,
     * so a plugin's client follows none unless its tier only reports (ADR 30).
     */
    static final String FOLLOW_REDIRECTS = "java/net/http/HttpClient$Builder.followRedirects"
            + "(Ljava/net/http/HttpClient$Redirect;)Ljava/net/http/HttpClient$Builder;";
    static final Map<String, String> FILTERED = Map.of(FOLLOW_REDIRECTS, "redirects");

    private static final List<Entry> ENTRIES = new ArrayList<>();
    private static final String STRING = "(Ljava/lang/String;";
    private static final String FILE = "(Ljava/io/File;";

    private static void add(String rule, String owner, String name, String descPrefix, Check... checks) {
        ENTRIES.add(new Entry(owner, name, descPrefix, new Site(rule, List.of(checks))));
    }

    private static Check check(String method, int... operands) {
        return new Check(method, operands);
    }

    static {
        // Always refused (unless the tier only reports).
        add("exit", "java/lang/System", "exit", null, check("exit"));
        for (String n : List.of("exit", "halt", "addShutdownHook")) {
            add("exit", "java/lang/Runtime", n, null, check("exit"));
        }
        add("process", "java/lang/Runtime", "exec", null, check("process"));
        add("process", "java/lang/ProcessBuilder", "start", null, check("process"));
        add("process", "java/lang/ProcessBuilder", "startPipeline", null, check("process"));
        add("process", "java/lang/ProcessHandle", "destroy", null, check("process"));
        add("process", "java/lang/ProcessHandle", "destroyForcibly", null, check("process"));
        add("process", "java/lang/Process", "destroy", null, check("process"));

        // Network: what is connected to, as the plugin named it.
        for (String socket : List.of("java/net/Socket", "javax/net/ssl/SSLSocket")) {
            add("network", socket, "connect", null, check("network", 1));
            add("network", socket, "<init>", "(Ljava/lang/String;I", check("network", 0, 1));
            add("network", socket, "<init>", "(Ljava/net/InetAddress;I", check("network", 0, 1));
        }
        add("network", "java/nio/channels/SocketChannel", "connect", null, check("network", 1));
        add("network", "java/nio/channels/SocketChannel", "open", "(Ljava/net/SocketAddress;)", check("network", 0));
        add("network", "java/nio/channels/AsynchronousSocketChannel", "connect", null, check("network", 1));
        for (String datagram : List.of("java/net/DatagramSocket", "java/net/MulticastSocket")) {
            add("network", datagram, "connect", "(Ljava/net/SocketAddress;)", check("network", 1));
            add("network", datagram, "connect", "(Ljava/net/InetAddress;I)", check("network", 1, 2));
            add("network", datagram, "send", null, check("network", 1));
        }
        add("network", "java/nio/channels/DatagramChannel", "connect", null, check("network", 1));
        add("network", "java/nio/channels/DatagramChannel", "send", null, check("network", 2));
        add("network", "java/net/http/HttpClient", "send", null, check("network", 1));
        add("network", "java/net/http/HttpClient", "sendAsync", null, check("network", 1));
        add("network", "java/net/URL", "openConnection", null, check("network", 0));
        add("network", "java/net/URL", "openStream", null, check("network", 0));
        add("network", "java/net/URL", "getContent", null, check("network", 0));

        // Files: java.io constructors, java.io.File's changes, java.nio.file.Files, file channels.
        for (String owner : List.of("java/io/FileInputStream", "java/io/FileReader", "java/util/Scanner",
                "java/util/zip/ZipFile", "java/util/jar/JarFile")) {
            add("file", owner, "<init>", STRING, check("fileRead", 0));
            add("file", owner, "<init>", FILE, check("fileRead", 0));
        }
        add("file", "java/util/Scanner", "<init>", "(Ljava/nio/file/Path;", check("fileRead", 0));
        for (String owner : List.of("java/io/FileOutputStream", "java/io/FileWriter", "java/io/PrintStream",
                "java/io/PrintWriter", "java/util/Formatter")) {
            add("file", owner, "<init>", STRING, check("fileWrite", 0));
            add("file", owner, "<init>", FILE, check("fileWrite", 0));
        }
        add("file", "java/io/RandomAccessFile", "<init>", null, check("fileOpen", 0, 1));
        for (String n : List.of("delete", "deleteOnExit", "createNewFile", "mkdir", "mkdirs", "setReadable",
                "setWritable", "setExecutable", "setLastModified", "setReadOnly")) {
            add("file", "java/io/File", n, null, check("fileWrite", 0));
        }
        add("file", "java/io/File", "renameTo", null, check("fileWrite", 0), check("fileWrite", 1));
        add("file", "java/io/File", "list", null, check("fileRead", 0));
        add("file", "java/io/File", "listFiles", null, check("fileRead", 0));
        add("file", "java/io/File", "createTempFile", "(Ljava/lang/String;Ljava/lang/String;)", check("tempFile"));
        add("file", "java/io/File", "createTempFile", "(Ljava/lang/String;Ljava/lang/String;Ljava/io/File;)",
                check("fileWrite", 2));
        add("file", "java/nio/channels/FileChannel", "open", null, check("fileOpen", 0, 1));
        add("file", "java/nio/channels/AsynchronousFileChannel", "open", null, check("fileOpen", 0, 1));
        add("file", "java/nio/file/Files", "newByteChannel", null, check("fileOpen", 0, 1));
        // Files' other methods: see filesSite.

        // Threads of its own.
        add("thread", "*", "start", "()V", check("threadStart", 0));
        add("thread", "java/util/concurrent/Executors", "new*", null, check("threads"));
        add("thread", "java/lang/Thread", "startVirtualThread", null, check("threads"));
        add("thread", "java/lang/Thread", "ofPlatform", null, check("threads"));
        add("thread", "java/lang/Thread", "ofVirtual", null, check("threads"));

        // Reflection that breaks encapsulation, or reaches the methods above by another way.
        for (String owner : List.of("java/lang/reflect/AccessibleObject", "java/lang/reflect/Field",
                "java/lang/reflect/Method", "java/lang/reflect/Constructor", "java/lang/reflect/Executable")) {
            add("reflection", owner, "setAccessible", null, check("reflect", 0));
            add("reflection", owner, "trySetAccessible", null, check("reflect", 0));
        }
        add("reflection", "java/lang/reflect/Method", "invoke", null, check("reflect", 0));
        add("reflection", "java/lang/reflect/Constructor", "newInstance", null, check("reflect", 0));
        String lookup = "java/lang/invoke/MethodHandles$Lookup";
        for (String n : List.of("findStatic", "findVirtual", "findSpecial")) {
            add("reflection", lookup, n, null, check("lookup", 1, 2));
        }
        add("reflection", lookup, "findConstructor", null, check("lookupConstructor", 1));
        for (String n : List.of("unreflect", "unreflectSpecial", "unreflectConstructor")) {
            add("reflection", lookup, n, null, check("reflect", 1));
        }
        add("reflection", "java/lang/invoke/MethodHandles", "privateLookupIn", null, check("privateLookup", 0));
    }

    private static final Set<String> FILES_WRITE = Set.of("newOutputStream", "newBufferedWriter", "write",
            "writeString", "createFile", "createDirectory", "createDirectories", "createTempFile", "createTempDirectory",
            "createSymbolicLink", "createLink", "delete", "deleteIfExists", "move", "setAttribute",
            "setLastModifiedTime", "setOwner", "setPosixFilePermissions");
    private static final String PATH = "Ljava/nio/file/Path;";

    /** The checks woven before {@code owner.name desc} called with {@code opcode}; null when it is not checked. */
    static Site match(int opcode, String owner, String name, String desc) {
        if (owner.equals("java/nio/file/Files")) {
            Site files = filesSite(name, desc);
            if (files != null) {
                return files;
            }
        }
        for (Entry e : ENTRIES) {
            if (e.matches(owner, name, desc)) {
                if (e.owner().equals("*") && opcode != Opcodes.INVOKEVIRTUAL && opcode != Opcodes.INVOKESPECIAL) {
                    continue;
                }
                return e.site();
            }
        }
        return null;
    }

    /** Every {@code Path} argument of a {@code Files} method is checked, for writing when the method writes. */
    private static Site filesSite(String name, String desc) {
        if (REPLACED.containsKey("java/nio/file/Files." + name + desc) || name.equals("newByteChannel")) {
            return null;
        }
        Type[] args = Type.getArgumentTypes(desc);
        List<Check> checks = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            if (args[i].getDescriptor().equals(PATH)) {
                boolean write = FILES_WRITE.contains(name) || name.equals("copy") && i > 0;
                checks.add(check(write ? "fileWrite" : "fileRead", i));
            }
        }
        if (checks.isEmpty() && name.startsWith("createTemp")) {
            checks.add(check("tempFile"));
        }
        return checks.isEmpty() ? null : new Site("file", List.copyOf(checks));
    }

    /**
     * Whether a method reached by reflection, a method handle or a method reference is one the weaver checks: such a
     * call would pass no check, so it is refused. {@code owner} in internal form; {@code name} {@code <init>} for a
     * constructor.
     */
    static boolean checked(String owner, String name) {
        if (owner.equals("java/nio/file/Files")) {
            return true;
        }
        if (owner.equals("java/lang/System") && name.equals("getenv")) {
            return true;
        }
        if (owner.equals("java/net/http/HttpClient$Builder") && name.equals("followRedirects")) {
            return true;
        }
        for (Entry e : ENTRIES) {
            if (!e.owner().equals("*") && e.owner().equals(owner) && (e.name().equals(name)
                    || e.name().endsWith("*") && name.startsWith(e.name().substring(0, e.name().length() - 1)))) {
                return true;
            }
        }
        return owner.equals("java/lang/Thread") && name.equals("start");
    }
}
