package dev.parley.sandbox;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.zip.Deflater;

import org.objectweb.asm.ClassWriter;
import org.objectweb.asm.Handle;
import org.objectweb.asm.MethodVisitor;
import org.objectweb.asm.Opcodes;
import org.objectweb.asm.Type;

/** Class files and jars made with ASM for the scanner and admission tests: each does exactly one thing. */
public final class TestClasses {
    private TestClasses() {
    }

    /** A class {@code name} (internal form) whose {@code run()} makes one call (or field access) and returns. */
    public static byte[] calling(String name, int opcode, String owner, String member, String desc) {
        ClassWriter cw = new ClassWriter(ClassWriter.COMPUTE_MAXS);
        cw.visit(Opcodes.V17, Opcodes.ACC_PUBLIC, name, null, "java/lang/Object", null);
        MethodVisitor mv = cw.visitMethod(Opcodes.ACC_PUBLIC, "run", "(Ljava/lang/String;)V", null, null);
        mv.visitCode();
        switch (opcode) {
            case Opcodes.GETSTATIC -> {
                mv.visitFieldInsn(opcode, owner, member, desc);
                mv.visitInsn(Type.getType(desc).getSize() == 2 ? Opcodes.POP2 : Opcodes.POP);
            }
            case Opcodes.INVOKESPECIAL -> {
                // new Owner(args...) with default values for the arguments
                mv.visitTypeInsn(Opcodes.NEW, owner);
                mv.visitInsn(Opcodes.DUP);
                pushDefaults(mv, desc);
                mv.visitMethodInsn(opcode, owner, member, desc, false);
                mv.visitInsn(Opcodes.POP);
            }
            default -> {
                if (opcode != Opcodes.INVOKESTATIC) {
                    mv.visitInsn(Opcodes.ACONST_NULL);
                    mv.visitTypeInsn(Opcodes.CHECKCAST, owner);
                }
                pushDefaults(mv, desc);
                mv.visitMethodInsn(opcode, owner, member, desc, opcode == Opcodes.INVOKEINTERFACE);
                Type ret = Type.getReturnType(desc);
                if (ret.getSize() > 0) {
                    mv.visitInsn(ret.getSize() == 2 ? Opcodes.POP2 : Opcodes.POP);
                }
            }
        }
        mv.visitInsn(Opcodes.RETURN);
        mv.visitMaxs(0, 0);
        mv.visitEnd();
        cw.visitEnd();
        return cw.toByteArray();
    }

    private static void pushDefaults(MethodVisitor mv, String desc) {
        for (Type t : Type.getArgumentTypes(desc)) {
            switch (t.getSort()) {
                case Type.LONG -> mv.visitInsn(Opcodes.LCONST_0);
                case Type.FLOAT -> mv.visitInsn(Opcodes.FCONST_0);
                case Type.DOUBLE -> mv.visitInsn(Opcodes.DCONST_0);
                case Type.OBJECT, Type.ARRAY -> mv.visitInsn(Opcodes.ACONST_NULL);
                default -> mv.visitInsn(Opcodes.ICONST_0);
            }
        }
    }

    /** A class with a method reference ({@code invokedynamic} with a method handle), as {@code Owner::member} compiles. */
    public static byte[] methodReference(String name, String owner, String member, String desc) {
        ClassWriter cw = new ClassWriter(ClassWriter.COMPUTE_MAXS);
        cw.visit(Opcodes.V17, Opcodes.ACC_PUBLIC, name, null, "java/lang/Object", null);
        MethodVisitor mv = cw.visitMethod(Opcodes.ACC_PUBLIC, "run", "()V", null, null);
        mv.visitCode();
        Handle bsm = new Handle(Opcodes.H_INVOKESTATIC, "java/lang/invoke/LambdaMetafactory", "metafactory",
                "(Ljava/lang/invoke/MethodHandles$Lookup;Ljava/lang/String;Ljava/lang/invoke/MethodType;"
                        + "Ljava/lang/invoke/MethodType;Ljava/lang/invoke/MethodHandle;Ljava/lang/invoke/MethodType;)"
                        + "Ljava/lang/invoke/CallSite;", false);
        mv.visitInvokeDynamicInsn("get", "()Ljava/util/function/Supplier;", bsm, Type.getType("()Ljava/lang/Object;"),
                new Handle(Opcodes.H_INVOKESTATIC, owner, member, desc, false), Type.getType(desc));
        mv.visitInsn(Opcodes.POP);
        mv.visitInsn(Opcodes.RETURN);
        mv.visitMaxs(0, 0);
        mv.visitEnd();
        cw.visitEnd();
        return cw.toByteArray();
    }

    /** A class that loads a string constant (as {@code Class.forName("...")} does). */
    public static byte[] constant(String name, String value) {
        ClassWriter cw = new ClassWriter(ClassWriter.COMPUTE_MAXS);
        cw.visit(Opcodes.V17, Opcodes.ACC_PUBLIC, name, null, "java/lang/Object", null);
        MethodVisitor mv = cw.visitMethod(Opcodes.ACC_PUBLIC, "run", "()V", null, null);
        mv.visitCode();
        mv.visitLdcInsn(value);
        mv.visitInsn(Opcodes.POP);
        mv.visitInsn(Opcodes.RETURN);
        mv.visitMaxs(0, 0);
        mv.visitEnd();
        cw.visitEnd();
        return cw.toByteArray();
    }

    /** A class that declares a native method. */
    public static byte[] nativeMethod(String name) {
        ClassWriter cw = new ClassWriter(0);
        cw.visit(Opcodes.V17, Opcodes.ACC_PUBLIC, name, null, "java/lang/Object", null);
        cw.visitMethod(Opcodes.ACC_PUBLIC | Opcodes.ACC_NATIVE, "poke", "(J)V", null, null).visitEnd();
        cw.visitEnd();
        return cw.toByteArray();
    }

    /** An abstract class extending or implementing {@code type}. */
    public static byte[] implementing(String name, String type, boolean isInterface) {
        ClassWriter cw = new ClassWriter(0);
        cw.visit(Opcodes.V17, Opcodes.ACC_PUBLIC | Opcodes.ACC_ABSTRACT, name, null,
                isInterface ? "java/lang/Object" : type, isInterface ? new String[] {type} : null);
        cw.visitEnd();
        return cw.toByteArray();
    }

    /** A jar builder: manifest headers and entries, in order. */
    public static final class Jar {
        private final Map<String, String> headers = new LinkedHashMap<>();
        private final Map<String, byte[]> entries = new LinkedHashMap<>();

        public static Jar plugin(String id, String version, String publisher) {
            Jar j = new Jar();
            j.headers.put("Bundle-ManifestVersion", "2");
            j.headers.put("Bundle-SymbolicName", "test." + id);
            j.headers.put("Bundle-Version", version);
            j.headers.put("Parley-Plugin", id + ";type=provider;publisher=" + publisher);
            j.headers.put("Import-Package", "dev.parley.api.llm;version=\"[1.0,2)\"");
            return j;
        }

        public static Jar plain() {
            return new Jar();
        }

        public Jar header(String name, String value) {
            headers.put(name, value);
            return this;
        }

        public Jar without(String header) {
            headers.remove(header);
            return this;
        }

        public Jar entry(String name, byte[] bytes) {
            entries.put(name, bytes);
            return this;
        }

        /** A class entry: {@code name} in internal form. */
        public Jar clazz(String name, byte[] bytes) {
            return entry(name + ".class", bytes);
        }

        public byte[] bytes() {
            Manifest m = new Manifest();
            m.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
            headers.forEach((k, v) -> m.getMainAttributes().putValue(k, v));
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            try (JarOutputStream jar = new JarOutputStream(out, m)) {
                jar.setLevel(Deflater.BEST_COMPRESSION);
                for (var e : entries.entrySet()) {
                    jar.putNextEntry(new JarEntry(e.getKey()));
                    jar.write(e.getValue());
                    jar.closeEntry();
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return out.toByteArray();
        }
    }

    /** A jar whose one entry {@code name} inflates to {@code size} zero bytes (a few hundred KB compressed). */
    public static byte[] bomb(String name, long size) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (JarOutputStream jar = new JarOutputStream(out)) {
            jar.setLevel(Deflater.BEST_COMPRESSION);
            jar.putNextEntry(new JarEntry(name));
            byte[] zeros = new byte[1 << 20];
            for (long written = 0; written < size; written += zeros.length) {
                jar.write(zeros, 0, (int) Math.min(zeros.length, size - written));
            }
            jar.closeEntry();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }
}
