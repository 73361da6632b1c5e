package dev.parley.sandbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.objectweb.asm.Opcodes.GETSTATIC;
import static org.objectweb.asm.Opcodes.INVOKEINTERFACE;
import static org.objectweb.asm.Opcodes.INVOKESPECIAL;
import static org.objectweb.asm.Opcodes.INVOKESTATIC;
import static org.objectweb.asm.Opcodes.INVOKEVIRTUAL;

import dev.parley.sandbox.TestClasses.Jar;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class BytecodeScannerTest {
    @TempDir
    Path temp;

    private BytecodeScanner scanner(BytecodeScanner.Limits limits) {
        return new BytecodeScanner(limits, ScanRules.ALL, temp);
    }

    private BytecodeScanner.Result scan(byte[] jar) {
        return scanner(BytecodeScanner.Limits.DEFAULT).scan(jar, Set.of());
    }

    private static int opcode(String name) {
        return switch (name) {
            case "static" -> INVOKESTATIC;
            case "virtual" -> INVOKEVIRTUAL;
            case "interface" -> INVOKEINTERFACE;
            case "new" -> INVOKESPECIAL;
            case "field" -> GETSTATIC;
            default -> throw new IllegalArgumentException(name);
        };
    }

    /** One use per rule (and per kind of pattern), each in a class of its own, found with the class and method. */
    @ParameterizedTest(name = "{0}: {2}.{3}")
    @CsvSource(delimiter = '|', textBlock = """
            process     | new       | java/lang/ProcessBuilder                  | <init>              | ([Ljava/lang/String;)V
            process     | virtual   | java/lang/Runtime                         | exec                | (Ljava/lang/String;)Ljava/lang/Process;
            process     | static    | java/lang/ProcessHandle                   | current             | ()Ljava/lang/ProcessHandle;
            exit        | static    | java/lang/System                          | exit                | (I)V
            exit        | virtual   | java/lang/Runtime                         | halt                | (I)V
            exit        | virtual   | java/lang/Runtime                         | addShutdownHook     | (Ljava/lang/Thread;)V
            reflection  | virtual   | java/lang/reflect/Field                   | setAccessible       | (Z)V
            reflection  | virtual   | java/lang/reflect/AccessibleObject        | trySetAccessible    | ()Z
            reflection  | static    | java/lang/invoke/MethodHandles            | privateLookupIn     | (Ljava/lang/Class;Ljava/lang/invoke/MethodHandles$Lookup;)Ljava/lang/invoke/MethodHandles$Lookup;
            unsafe      | virtual   | sun/misc/Unsafe                           | putLong             | (JJ)V
            unsafe      | static    | jdk/internal/misc/Unsafe                  | getUnsafe           | ()Ljdk/internal/misc/Unsafe;
            classloader | new       | java/net/URLClassLoader                   | <init>              | ([Ljava/net/URL;)V
            classloader | new       | java/lang/ClassLoader                     | <init>              | (Ljava/lang/ClassLoader;)V
            classloader | virtual   | java/lang/invoke/MethodHandles$Lookup     | defineClass         | ([B)Ljava/lang/Class;
            native      | static    | java/lang/System                          | loadLibrary         | (Ljava/lang/String;)V
            native      | static    | java/lang/System                          | load                | (Ljava/lang/String;)V
            file        | new       | java/io/File                              | <init>              | (Ljava/lang/String;)V
            file        | new       | java/io/FileInputStream                   | <init>              | (Ljava/lang/String;)V
            file        | static    | java/nio/file/Files                       | readAllBytes        | (Ljava/nio/file/Path;)[B
            file        | static    | java/nio/file/Path                        | of                  | (Ljava/lang/String;[Ljava/lang/String;)Ljava/nio/file/Path;
            network     | new       | java/net/Socket                           | <init>              | (Ljava/lang/String;I)V
            network     | new       | java/net/ServerSocket                     | <init>              | (I)V
            network     | virtual   | java/net/URL                              | openConnection      | ()Ljava/net/URLConnection;
            network     | static    | java/net/http/HttpClient                  | newHttpClient       | ()Ljava/net/http/HttpClient;
            network     | static    | java/nio/channels/SocketChannel           | open                | ()Ljava/nio/channels/SocketChannel;
            thread      | new       | java/lang/Thread                          | <init>              | (Ljava/lang/Runnable;)V
            thread      | static    | java/util/concurrent/Executors            | newFixedThreadPool  | (I)Ljava/util/concurrent/ExecutorService;
            thread      | new       | java/util/concurrent/ThreadPoolExecutor   | <init>              | (IIJLjava/util/concurrent/TimeUnit;Ljava/util/concurrent/BlockingQueue;)V
            framework   | interface | org/osgi/framework/BundleContext          | getBundle           | (J)Lorg/osgi/framework/Bundle;
            framework   | interface | org/osgi/framework/BundleContext          | getBundles          | ()[Lorg/osgi/framework/Bundle;
            framework   | interface | org/osgi/framework/BundleContext          | installBundle       | (Ljava/lang/String;)Lorg/osgi/framework/Bundle;
            framework   | static    | org/osgi/framework/FrameworkUtil          | getBundle           | (Ljava/lang/Class;)Lorg/osgi/framework/Bundle;
            framework   | interface | org/osgi/framework/Bundle                 | uninstall           | ()V
            environment | static    | java/lang/System                          | getenv              | ()Ljava/util/Map;
            """)
    void eachRuleFindsItsUse(String rule, String kind, String owner, String member, String desc) {
        byte[] jar = Jar.plain().clazz("acme/Plugin", TestClasses.calling("acme/Plugin", opcode(kind), owner, member, desc))
                .bytes();

        BytecodeScanner.Result result = scan(jar);

        assertThat(result.stopped()).isNull();
        assertThat(result.findings()).as("findings").hasSize(1);
        Finding f = result.findings().get(0);
        assertThat(f.rule()).isEqualTo(rule);
        assertThat(f.className()).isEqualTo("acme.Plugin");
        assertThat(f.method()).isEqualTo("run(java.lang.String)");
        assertThat(f.target()).contains(owner.replace('/', '.'));
        assertThat(f.jar()).isNull();
        assertThat(f.describe()).contains("rule " + rule).contains("acme.Plugin.run(java.lang.String)");
        assertThat(result.counts()).containsEntry(rule, 1);
    }

    @Test
    void harmlessUsesAreNotFindings() {
        byte[] jar = Jar.plain()
                .clazz("acme/A", TestClasses.calling("acme/A", INVOKEVIRTUAL, "java/lang/String", "length", "()I"))
                // The plugin's own bundle: getBundle() without arguments.
                .clazz("acme/B", TestClasses.calling("acme/B", INVOKEINTERFACE, "org/osgi/framework/BundleContext",
                        "getBundle", "()Lorg/osgi/framework/Bundle;"))
                .clazz("acme/C", TestClasses.calling("acme/C", INVOKESTATIC, "java/lang/System", "nanoTime", "()J"))
                .clazz("acme/D", TestClasses.constant("acme/D", "java.lang.String"))
                .bytes();

        BytecodeScanner.Result result = scan(jar);

        assertThat(result.findings()).isEmpty();
        assertThat(result.classes()).isEqualTo(4);
        assertThat(result.jars()).isEqualTo(1);
    }

    @Test
    void nativeMethodsSubclassesMethodReferencesAndNamesAreFound() {
        byte[] jar = Jar.plain()
                .clazz("acme/Jni", TestClasses.nativeMethod("acme/Jni"))
                .clazz("acme/Hook", TestClasses.implementing("acme/Hook", "org/osgi/framework/hooks/service/FindHook", true))
                .clazz("acme/Ref", TestClasses.methodReference("acme/Ref", "java/lang/System", "exit", "(I)V"))
                .clazz("acme/ByName", TestClasses.constant("acme/ByName", "java.lang.ProcessBuilder"))
                .bytes();

        BytecodeScanner.Result result = scan(jar);

        assertThat(result.findings()).extracting(f -> f.rule() + " " + f.className())
                .containsExactlyInAnyOrder("native acme.Jni", "framework acme.Hook", "exit acme.Ref",
                        "process acme.ByName");
        assertThat(result.findings()).filteredOn(f -> f.rule().equals("native")).first()
                .satisfies(f -> assertThat(f.method()).isEqualTo("poke(long)"));
    }

    @Test
    void rulesTheDeclaredPermissionsCoverAreNotLookedFor() {
        byte[] jar = Jar.plain()
                .clazz("acme/T", TestClasses.calling("acme/T", INVOKESPECIAL, "java/lang/Thread", "<init>",
                        "(Ljava/lang/Runnable;)V"))
                .clazz("acme/X", TestClasses.calling("acme/X", INVOKESTATIC, "java/lang/System", "exit", "(I)V"))
                .bytes();

        BytecodeScanner.Result result = scanner(BytecodeScanner.Limits.DEFAULT).scan(jar, Set.of("thread"));

        assertThat(result.findings()).extracting(Finding::rule).containsExactly("exit");
    }

    @Test
    void embeddedJarsAreScannedAndNamed() {
        byte[] inner = Jar.plain().clazz("lib/Exec", TestClasses.calling("lib/Exec", INVOKEVIRTUAL, "java/lang/Runtime",
                "exec", "(Ljava/lang/String;)Ljava/lang/Process;")).bytes();
        byte[] jar = Jar.plain()
                .clazz("acme/Ok", TestClasses.calling("acme/Ok", INVOKEVIRTUAL, "java/lang/String", "length", "()I"))
                .entry("lib/inner.jar", inner)
                .bytes();

        BytecodeScanner.Result result = scan(jar);

        assertThat(result.jars()).isEqualTo(2);
        assertThat(result.classes()).isEqualTo(2);
        assertThat(result.findings()).singleElement().satisfies(f -> {
            assertThat(f.rule()).isEqualTo("process");
            assertThat(f.className()).isEqualTo("lib.Exec");
            assertThat(f.jar()).isEqualTo("lib/inner.jar");
            assertThat(f.describe()).contains("lib.Exec.run(java.lang.String) in lib/inner.jar uses java.lang.Runtime.exec");
        });
    }

    @Test
    void jarsNestedDeeperThanTheLimitStopTheScan() {
        byte[] deepest = Jar.plain().clazz("x/Y", TestClasses.constant("x/Y", "hello")).bytes();
        byte[] middle = Jar.plain().entry("c.jar", deepest).bytes();
        byte[] outer = Jar.plain().entry("b.jar", middle).bytes();

        BytecodeScanner.Result result = scanner(new BytecodeScanner.Limits(100, 100, 1 << 20, 1 << 16, 1, 25))
                .scan(outer, Set.of());

        assertThat(result.stopped()).isNotNull();
        assertThat(result.stopped().rule()).isEqualTo(BytecodeScanner.SCAN_LIMIT);
        assertThat(result.stopped().target()).contains("b.jar!/c.jar").contains("nested deeper than 1");
    }

    @Test
    void aZipBombIsRefusedNotInflated() {
        // An embedded "jar" that inflates to 256 MiB of zeros: ~250 KB on the wire; the scan stops at 16 MiB inflated.
        // (Entries that are neither classes nor jars are never inflated by the scan.)
        byte[] jar = TestClasses.bomb("lib/bomb.jar", 256L << 20);
        assertThat(jar.length).isLessThan(1 << 20);

        BytecodeScanner.Result result = scanner(new BytecodeScanner.Limits(100, 100, 16L << 20, 1 << 20, 2, 25))
                .scan(jar, Set.of());

        assertThat(result.stopped()).isNotNull();
        assertThat(result.stopped().target()).contains("inflates to more than " + (16L << 20));
        assertThat(result.bytes()).isLessThanOrEqualTo((16L << 20) + 65536);
    }

    @Test
    void aClassFileOverTheSizeLimitIsRefusedBeforeItIsRead() {
        byte[] jar = TestClasses.bomb("Huge.class", 64L << 20);

        BytecodeScanner.Result result = scanner(new BytecodeScanner.Limits(100, 100, 1L << 30, 1 << 20, 2, 25))
                .scan(jar, Set.of());

        assertThat(result.stopped()).isNotNull();
        assertThat(result.stopped().target()).contains("Huge.class").contains("a class file may have");
        assertThat(result.bytes()).isLessThanOrEqualTo(1 << 20);
    }

    @Test
    void moreClassesThanTheLimitAreRefused() {
        Jar many = Jar.plain();
        byte[] tiny = TestClasses.constant("p/C", "x");
        for (int i = 0; i <= 1000; i++) {
            many.entry("p/C" + i + ".class", tiny);
        }

        BytecodeScanner.Result result = scanner(new BytecodeScanner.Limits(1000, 10_000, 1L << 30, 1 << 20, 2, 25))
                .scan(many.bytes(), Set.of());

        assertThat(result.stopped()).isNotNull();
        assertThat(result.stopped().target()).isEqualTo("more than 1000 classes");
    }

    @Test
    void moreEntriesThanTheLimitAreRefusedBeforeTheyAreRead() {
        Jar many = Jar.plain();
        for (int i = 0; i < 600; i++) {
            many.entry("data/" + i + ".txt", new byte[] {1});
        }

        BytecodeScanner.Result result = scanner(new BytecodeScanner.Limits(1000, 500, 1L << 30, 1 << 20, 2, 25))
                .scan(many.bytes(), Set.of());

        assertThat(result.stopped()).isNotNull();
        assertThat(result.stopped().target()).contains("more than 500");
        assertThat(result.classes()).isZero();
    }

    @Test
    void aClassThatCannotBeReadIsAFinding() {
        byte[] jar = Jar.plain().entry("acme/Broken.class", new byte[] {(byte) 0xCA, (byte) 0xFE, 1, 2, 3}).bytes();

        BytecodeScanner.Result result = scan(jar);

        assertThat(result.findings()).singleElement().satisfies(f -> {
            assertThat(f.rule()).isEqualTo(ScanRules.UNREADABLE);
            assertThat(f.className()).isEqualTo("acme/Broken.class");
        });
    }

    @Test
    void notAJarIsAStopNotAnException() {
        BytecodeScanner.Result result = scan(new byte[] {'P', 'K', 3, 4, 0, 0});

        assertThat(result.stopped()).isNotNull();
        assertThat(result.stopped().target()).contains("not a readable jar");
    }

    @Test
    void findingsAreListedUpToTheLimitPerRuleAndAllCounted() {
        Jar jar = Jar.plain();
        for (int i = 0; i < 40; i++) {
            jar.clazz("acme/F" + i, TestClasses.calling("acme/F" + i, INVOKESTATIC, "java/lang/System", "getenv",
                    "()Ljava/util/Map;"));
        }
        jar.clazz("acme/Exit", TestClasses.calling("acme/Exit", INVOKESTATIC, "java/lang/System", "exit", "(I)V"));

        BytecodeScanner.Result result = scan(jar.bytes());

        assertThat(result.counts()).containsEntry("environment", 40).containsEntry("exit", 1);
        List<String> listed = result.findings().stream().map(Finding::rule).collect(Collectors.toList());
        assertThat(listed).filteredOn("environment"::equals).hasSize(25);
        assertThat(listed).contains("exit");
    }

    @Test
    void everyRulePatternCompiles() {
        // The table is data: a malformed row must fail here, not at a plugin's admission.
        new BytecodeScanner(BytecodeScanner.Limits.DEFAULT, ScanRules.ALL, temp);
        assertThat(ScanRules.ALL).extracting(ScanRules.Rule::id).doesNotHaveDuplicates();
    }
}
