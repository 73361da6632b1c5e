package dev.parley.sandbox;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Enumeration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;

import org.objectweb.asm.ClassReader;
import org.objectweb.asm.ClassVisitor;
import org.objectweb.asm.ConstantDynamic;
import org.objectweb.asm.Handle;
import org.objectweb.asm.MethodVisitor;
import org.objectweb.asm.Opcodes;
import org.objectweb.asm.Type;

/**
 * Reads every class of a plugin jar, and of every jar inside it (to {@link Limits#maxJarDepth} levels), and reports
 * each use that a rule of {@link ScanRules} names. The jar is read through its central directory, as the framework
 * reads it, so what is scanned is what would be loaded. Memory stays bounded whatever the jar holds: one class file at
 * a time is in memory (at most {@link Limits#maxClassBytes}), nested jars are read from temporary files, and the scan
 * stops with a {@code scan-limit} refusal when the jar has more entries or classes, or inflates to more bytes, than the
 * limits allow (a zip bomb, a jar of a million classes). Thread-safe: each {@link #scan} has its own state.
 */
public final class BytecodeScanner {

    /** The rule id of a scan stopped at a limit: always a refusal (the jar was not read whole). */
    public static final String SCAN_LIMIT = "scan-limit";

    /**
     * @param maxClasses         class files read at most, embedded jars included
     * @param maxEntries         zip entries at most, embedded jars included
     * @param maxInflatedBytes   bytes inflated at most, embedded jars included
     * @param maxClassBytes      largest class file (or manifest)
     * @param maxJarDepth        jars inside jars: 1 reads the plugin's own jars (Bundle-ClassPath), 2 one level more
     * @param maxFindingsPerRule uses listed per rule (all are counted)
     */
    public record Limits(int maxClasses, int maxEntries, long maxInflatedBytes, int maxClassBytes, int maxJarDepth,
            int maxFindingsPerRule) {
        public static final Limits DEFAULT = new Limits(100_000, 200_000, 1L << 30, 8 << 20, 2, 25);
    }

    /**
     * @param findings uses found, per rule at most {@link Limits#maxFindingsPerRule}, in the order found
     * @param counts   every use found, by rule
     * @param stopped  the {@link #SCAN_LIMIT} finding when the scan stopped early; null when the jar was read whole
     */
    public record Result(List<Finding> findings, Map<String, Integer> counts, int classes, int jars, long bytes,
            long nanos, Finding stopped) {
    }

    private final Limits limits;
    private final Compiled rules;
    private final Path tempDir;

    public BytecodeScanner(Limits limits) {
        this(limits, ScanRules.ALL, Path.of(System.getProperty("java.io.tmpdir")));
    }

    /** @param tempDir where nested jars (and a jar given as bytes) are written while they are read */
    public BytecodeScanner(Limits limits, List<ScanRules.Rule> rules, Path tempDir) {
        this.limits = limits;
        this.rules = new Compiled(rules);
        this.tempDir = tempDir;
    }

    public Limits limits() {
        return limits;
    }

    /**
     * @param ignored rule ids not to look for (those the plugin's declared permissions cover)
     */
    public Result scan(byte[] jar, Set<String> ignored) {
        Scan scan = new Scan(ignored);
        Path file = null;
        try {
            file = Files.createTempFile(tempDir, "parley-admission-", ".jar");
            Files.write(file, jar);
            scan.jar(file, null, 0);
        } catch (Stop stop) {
            // recorded in scan.stopped
        } catch (IOException e) {
            scan.stop("the jar could not be read: " + e.getMessage());
        } finally {
            deleteQuietly(file);
        }
        return scan.result();
    }

    /** Scans a jar on disk (the shipped plugins, in tests). */
    public Result scan(Path jar, Set<String> ignored) {
        Scan scan = new Scan(ignored);
        try {
            scan.jar(jar, null, 0);
        } catch (Stop stop) {
            // recorded in scan.stopped
        } catch (IOException e) {
            scan.stop("the jar could not be read: " + e.getMessage());
        }
        return scan.result();
    }

    private static void deleteQuietly(Path file) {
        if (file != null) {
            try {
                Files.deleteIfExists(file);
            } catch (IOException ignored) {
                // a temporary file; the temp directory's cleaner takes it
            }
        }
    }

    /** Thrown to end a scan at a limit; the reason is in {@link Scan#stopped}. */
    private static final class Stop extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Stop() {
            super(null, null, false, false);
        }
    }

    /** The state of one scan. */
    private final class Scan {
        final Set<String> ignored;
        final long started = System.nanoTime();
        final Map<String, Integer> counts = new TreeMap<>();
        final Map<String, List<Finding>> listed = new LinkedHashMap<>();
        final Set<String> seen = new java.util.HashSet<>();
        /** Owner → the member patterns that apply to it, resolved once per owner. */
        final Map<String, List<MemberPattern>> byOwner = new HashMap<>();
        int classes;
        int jars;
        int entries;
        long bytes;
        Finding stopped;

        Scan(Set<String> ignored) {
            this.ignored = ignored == null ? Set.of() : ignored;
        }

        Result result() {
            List<Finding> all = new ArrayList<>();
            listed.values().forEach(all::addAll);
            return new Result(Collections.unmodifiableList(all), Collections.unmodifiableMap(counts), classes, jars,
                    bytes, System.nanoTime() - started, stopped);
        }

        void stop(String why) {
            if (stopped == null) {
                stopped = new Finding(SCAN_LIMIT, "a jar too big or damaged to be read whole is not admitted", null,
                        null, why, null);
            }
            throw new Stop();
        }

        void jar(Path file, String name, int depth) throws IOException {
            jars++;
            try (ZipFile zip = new ZipFile(file.toFile())) {
                if (entries + zip.size() > limits.maxEntries()) {
                    stop((name == null ? "the plugin jar" : name) + " brings the entries to more than "
                            + limits.maxEntries());
                }
                entries += zip.size();
                Enumeration<? extends ZipEntry> all = zip.entries();
                while (all.hasMoreElements()) {
                    ZipEntry e = all.nextElement();
                    if (e.isDirectory()) {
                        continue;
                    }
                    String entryName = e.getName();
                    String lower = entryName.toLowerCase(Locale.ROOT);
                    if (lower.endsWith(".class")) {
                        if (++classes > limits.maxClasses()) {
                            stop("more than " + limits.maxClasses() + " classes");
                        }
                        byte[] bytes = read(zip, e, entryName);
                        clazz(bytes, entryName, name);
                    } else if (lower.endsWith(".jar")) {
                        String nestedName = name == null ? entryName : name + "!/" + entryName;
                        if (depth + 1 > limits.maxJarDepth()) {
                            stop(nestedName + " is a jar nested deeper than " + limits.maxJarDepth() + " levels");
                        }
                        Path nested = Files.createTempFile(tempDir, "parley-admission-", ".jar");
                        try {
                            try (InputStream in = zip.getInputStream(e); OutputStream out = Files.newOutputStream(nested)) {
                                copy(in, out);
                            }
                            jar(nested, nestedName, depth + 1);
                        } catch (ZipException damaged) {
                            stop(nestedName + " is not a readable jar: " + damaged.getMessage());
                        } finally {
                            deleteQuietly(nested);
                        }
                    }
                }
            } catch (ZipException damaged) {
                stop((name == null ? "the plugin jar" : name) + " is not a readable jar: " + damaged.getMessage());
            }
        }

        private byte[] read(ZipFile zip, ZipEntry e, String entryName) throws IOException {
            if (e.getSize() > limits.maxClassBytes()) {
                stop(entryName + " is " + e.getSize() + " bytes, more than the " + limits.maxClassBytes()
                        + " a class file may have");
            }
            ByteArrayOutputStream out = new ByteArrayOutputStream((int) Math.max(0, Math.min(e.getSize(), 1 << 16)));
            try (InputStream in = zip.getInputStream(e)) {
                byte[] buffer = new byte[8192];
                int n;
                long total = 0;
                while ((n = in.read(buffer)) >= 0) {
                    total += n;
                    count(n);
                    if (total > limits.maxClassBytes()) {
                        stop(entryName + " inflates to more than the " + limits.maxClassBytes()
                                + " bytes a class file may have");
                    }
                    out.write(buffer, 0, n);
                }
            }
            return out.toByteArray();
        }

        private void copy(InputStream in, OutputStream out) throws IOException {
            byte[] buffer = new byte[65536];
            int n;
            while ((n = in.read(buffer)) >= 0) {
                count(n);
                out.write(buffer, 0, n);
            }
        }

        private void count(int n) {
            bytes += n;
            if (bytes > limits.maxInflatedBytes()) {
                stop("it inflates to more than " + limits.maxInflatedBytes() + " bytes");
            }
        }

        void clazz(byte[] bytes, String entryName, String jar) {
            ClassReader reader;
            String className;
            try {
                reader = new ClassReader(bytes);
                className = reader.getClassName().replace('/', '.');
            } catch (RuntimeException e) {
                found(ScanRules.UNREADABLE, entryName, null, "the class file cannot be read (" + e + ")", jar);
                return;
            }
            try {
                reader.accept(new Visitor(className, jar), ClassReader.SKIP_FRAMES | ClassReader.SKIP_DEBUG);
            } catch (Stop stop) {
                throw stop;
            } catch (RuntimeException e) {
                found(ScanRules.UNREADABLE, className, null, "the class file cannot be read (" + e + ")", jar);
            }
        }

        void found(String rule, String className, String method, String target, String jar) {
            if (ignored.contains(rule)) {
                return;
            }
            if (!seen.add(rule + '|' + className + '|' + method + '|' + target + '|' + jar)) {
                return;
            }
            counts.merge(rule, 1, Integer::sum);
            List<Finding> list = listed.computeIfAbsent(rule, r -> new ArrayList<>());
            if (list.size() < limits.maxFindingsPerRule()) {
                list.add(new Finding(rule, rules.title(rule), className, method, target, jar));
            }
        }

        List<MemberPattern> patternsOf(String owner) {
            return byOwner.computeIfAbsent(owner, rules::patternsOf);
        }

        /** Checks one referenced member: {@code desc} is a method or field descriptor. */
        void use(String owner, String name, String desc, boolean method, String className, String inMethod, String jar) {
            if (owner == null || owner.isEmpty() || owner.charAt(0) == '[') {
                return; // array types: clone() and length
            }
            for (MemberPattern p : patternsOf(owner)) {
                if (p.matches(name, desc)) {
                    found(p.rule(), className, inMethod, render(owner, name, desc, method), jar);
                }
            }
        }

        void constant(Object value, String className, String inMethod, String jar) {
            if (value instanceof String s) {
                String rule = rules.names.get(s);
                if (rule != null) {
                    found(rule, className, inMethod, "the class name \"" + s + "\" (reflection by name)", jar);
                }
            } else if (value instanceof Handle h) {
                use(h.getOwner(), h.getName(), h.getDesc(), h.getTag() >= Opcodes.H_INVOKEVIRTUAL, className,
                        inMethod, jar);
            } else if (value instanceof ConstantDynamic c) {
                constant(c.getBootstrapMethod(), className, inMethod, jar);
                for (int i = 0; i < c.getBootstrapMethodArgumentCount(); i++) {
                    constant(c.getBootstrapMethodArgument(i), className, inMethod, jar);
                }
            }
        }

        /** Finds the uses in one class. */
        private final class Visitor extends ClassVisitor {
            final String className;
            final String jar;

            Visitor(String className, String jar) {
                super(Opcodes.ASM9);
                this.className = className;
                this.jar = jar;
            }

            @Override
            public void visit(int version, int access, String name, String signature, String superName,
                    String[] interfaces) {
                List<String> supers = new ArrayList<>();
                if (superName != null) {
                    supers.add(superName);
                }
                if (interfaces != null) {
                    supers.addAll(List.of(interfaces));
                }
                for (String s : supers) {
                    String rule = rules.extendsRule(s);
                    if (rule != null) {
                        found(rule, className, null, "extends " + s.replace('/', '.'), jar);
                    }
                }
            }

            @Override
            public MethodVisitor visitMethod(int access, String name, String descriptor, String signature,
                    String[] exceptions) {
                String method = renderMethod(name, descriptor);
                if ((access & Opcodes.ACC_NATIVE) != 0 && rules.nativeRule != null) {
                    found(rules.nativeRule, className, method, "a native method", jar);
                }
                return new MethodVisitor(Opcodes.ASM9) {
                    @Override
                    public void visitMethodInsn(int opcode, String owner, String name, String desc, boolean itf) {
                        use(owner, name, desc, true, className, method, jar);
                    }

                    @Override
                    public void visitFieldInsn(int opcode, String owner, String name, String desc) {
                        use(owner, name, desc, false, className, method, jar);
                    }

                    @Override
                    public void visitLdcInsn(Object value) {
                        constant(value, className, method, jar);
                    }

                    @Override
                    public void visitInvokeDynamicInsn(String name, String desc, Handle bsm, Object... args) {
                        for (Object a : args) {
                            constant(a, className, method, jar);
                        }
                    }
                };
            }
        }
    }

    /** A member pattern that applies to one owner: {@code name} exact, a prefix ending in {@code *}, or {@code *}. */
    private record MemberPattern(String rule, String name, String descPrefix) {
        boolean matches(String member, String desc) {
            boolean nameOk = name.equals("*") || (name.endsWith("*")
                    ? member.startsWith(name.substring(0, name.length() - 1)) : name.equals(member));
            return nameOk && (descPrefix == null || desc.startsWith(descPrefix));
        }
    }

    /** The rule table compiled for look-ups by owner. */
    private static final class Compiled {
        final Map<String, List<MemberPattern>> exact = new HashMap<>();
        /** Package prefixes ({@code a/b/}) whose classes' every member is a use. */
        final Map<String, String> packages = new LinkedHashMap<>();
        final Map<String, String> extendsExact = new HashMap<>();
        final Map<String, String> extendsPackages = new LinkedHashMap<>();
        final Map<String, String> names = new HashMap<>();
        final Map<String, String> titles = new HashMap<>();
        String nativeRule;

        Compiled(List<ScanRules.Rule> rules) {
            titles.put(SCAN_LIMIT, "a jar too big or damaged to be read whole is not admitted");
            for (ScanRules.Rule r : rules) {
                titles.put(r.id(), r.title());
                for (String pattern : r.patterns()) {
                    add(r.id(), pattern.strip());
                }
            }
        }

        private void add(String rule, String pattern) {
            if (pattern.equals("native")) {
                nativeRule = rule;
                return;
            }
            int space = pattern.indexOf(' ');
            if (space < 0) {
                throw new IllegalArgumentException("rule " + rule + ": pattern '" + pattern + "' has no kind");
            }
            String kind = pattern.substring(0, space);
            String what = pattern.substring(space + 1).strip();
            switch (kind) {
                case "name" -> names.put(what, rule);
                case "extends" -> {
                    if (what.endsWith("/**")) {
                        extendsPackages.put(what.substring(0, what.length() - 2), rule);
                    } else {
                        extendsExact.put(what, rule);
                    }
                }
                case "call" -> {
                    if (what.endsWith("/**")) {
                        packages.put(what.substring(0, what.length() - 2), rule);
                        return;
                    }
                    int dot = what.lastIndexOf('.');
                    if (dot <= 0) {
                        throw new IllegalArgumentException("rule " + rule + ": '" + pattern + "' names no member");
                    }
                    String owner = what.substring(0, dot);
                    String member = what.substring(dot + 1);
                    String desc = null;
                    int paren = member.indexOf('(');
                    if (paren >= 0) {
                        desc = member.substring(paren);
                        member = member.substring(0, paren);
                    }
                    exact.computeIfAbsent(owner, o -> new ArrayList<>()).add(new MemberPattern(rule, member, desc));
                }
                default -> throw new IllegalArgumentException("rule " + rule + ": unknown pattern kind '" + kind + "'");
            }
        }

        List<MemberPattern> patternsOf(String owner) {
            List<MemberPattern> out = new ArrayList<>(exact.getOrDefault(owner, List.of()));
            for (var p : packages.entrySet()) {
                if (owner.startsWith(p.getKey())) {
                    out.add(new MemberPattern(p.getValue(), "*", null));
                }
            }
            return out.isEmpty() ? List.of() : out;
        }

        String extendsRule(String type) {
            String rule = extendsExact.get(type);
            if (rule != null) {
                return rule;
            }
            for (var p : extendsPackages.entrySet()) {
                if (type.startsWith(p.getKey())) {
                    return p.getValue();
                }
            }
            return null;
        }

        String title(String rule) {
            return titles.getOrDefault(rule, rule);
        }
    }

    static String render(String owner, String name, String desc, boolean method) {
        String type = owner.replace('/', '.');
        if (!method || !desc.startsWith("(")) {
            return type + "." + name;
        }
        String args = arguments(desc);
        return name.equals("<init>") ? "new " + type + "(" + args + ")" : type + "." + name + "(" + args + ")";
    }

    static String renderMethod(String name, String desc) {
        return name + "(" + arguments(desc) + ")";
    }

    private static String arguments(String desc) {
        try {
            List<String> names = new ArrayList<>();
            for (Type t : Type.getArgumentTypes(desc)) {
                names.add(t.getClassName());
            }
            return String.join(", ", names);
        } catch (RuntimeException e) {
            return "…";
        }
    }
}
