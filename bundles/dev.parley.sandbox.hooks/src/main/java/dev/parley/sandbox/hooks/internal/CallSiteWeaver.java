package dev.parley.sandbox.hooks.internal;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.objectweb.asm.ClassReader;
import org.objectweb.asm.ClassWriter;
import org.objectweb.asm.Handle;
import org.objectweb.asm.Opcodes;
import org.objectweb.asm.Type;
import org.objectweb.asm.tree.AbstractInsnNode;
import org.objectweb.asm.tree.ClassNode;
import org.objectweb.asm.tree.InsnList;
import org.objectweb.asm.tree.InvokeDynamicInsnNode;
import org.objectweb.asm.tree.JumpInsnNode;
import org.objectweb.asm.tree.LabelNode;
import org.objectweb.asm.tree.LdcInsnNode;
import org.objectweb.asm.tree.MethodInsnNode;
import org.objectweb.asm.tree.MethodNode;
import org.objectweb.asm.tree.VarInsnNode;

/**
 * Rewrites a plugin's class file so that each call in {@link CallSites} is checked first (ADR 30). Before a checked
 * call its operands are stored in fresh local variables, the checks are given the ones they need, with the JDK
 * method's name and the plugin's token, and the operands are loaded again for the original call. The code added is
 * straight-line (no branches), so the class's stack map frames stay valid and no class is loaded to compute new ones:
 * weaving runs while the plugin's class loader is defining a class. A method reference or method handle constant
 * that names a checked method is checked as "reflection" where it is created (it would otherwise run unchecked).
 * Before every backward jump (a turn of a loop) {@code PluginChecks.loop} is called with the token, so that a loop in
 * a stopped plugin's code ends (it takes no operand and leaves the stack as it was: the frames stay valid too).
 */
final class CallSiteWeaver {
    private static final String CALL_TOKEN = "Ljava/lang/String;Ljava/lang/String;";

    private CallSiteWeaver() {
    }

    /** The woven class, or null when the class calls nothing {@link CallSites} names and has no loop. */
    static byte[] weave(byte[] classFile, String token) {
        ClassReader reader = new ClassReader(classFile);
        ClassNode node = new ClassNode();
        reader.accept(node, 0);
        boolean changed = false;
        for (MethodNode method : node.methods) {
            changed |= weave(method, token);
        }
        if (!changed) {
            return null;
        }
        // COMPUTE_MAXS only: frames are kept as they are (COMPUTE_FRAMES would load classes to find common supertypes).
        ClassWriter writer = new ClassWriter(ClassWriter.COMPUTE_MAXS);
        node.accept(writer);
        return writer.toByteArray();
    }

    private static boolean weave(MethodNode method, String token) {
        boolean changed = false;
        int base = method.maxLocals; // every checked call reuses the same fresh locals: they are dead after it
        Set<LabelNode> seen = new HashSet<>();
        AbstractInsnNode next;
        for (AbstractInsnNode insn = method.instructions.getFirst(); insn != null; insn = next) {
            next = insn.getNext(); // taken first: a replaced call leaves the list
            if (insn instanceof LabelNode label) {
                seen.add(label);
            } else if (insn instanceof JumpInsnNode jump && seen.contains(jump.label)) {
                // A jump back to a label already passed: a turn of a loop.
                method.instructions.insertBefore(insn, loopCheck(token));
                changed = true;
            } else if (insn instanceof MethodInsnNode call) {
                changed |= weaveCall(method, base, call, token);
            } else if (insn instanceof InvokeDynamicInsnNode indy) {
                for (Object arg : indy.bsmArgs) {
                    if (arg instanceof Handle h && referencesChecked(h)) {
                        method.instructions.insertBefore(insn, methodReference(h, token));
                        changed = true;
                        break;
                    }
                }
            } else if (insn instanceof LdcInsnNode ldc && ldc.cst instanceof Handle h && referencesChecked(h)) {
                method.instructions.insertBefore(insn, methodReference(h, token));
                changed = true;
            }
        }
        return changed;
    }

    private static boolean referencesChecked(Handle h) {
        if (CallSites.REPLACED.containsKey(h.getOwner() + "." + h.getName() + h.getDesc())
                && h.getOwner().equals("java/nio/file/Files")) {
            return false; // a file query answers false for what the plugin may not see; harmless unchecked
        }
        return CallSites.checked(h.getOwner(), h.getName());
    }

    private static InsnList loopCheck(String token) {
        InsnList list = new InsnList();
        list.add(new LdcInsnNode(token));
        list.add(new MethodInsnNode(Opcodes.INVOKESTATIC, CallSites.RUNTIME, "loop", "(Ljava/lang/String;)V", false));
        return list;
    }

    private static InsnList methodReference(Handle h, String token) {
        InsnList list = new InsnList();
        list.add(new LdcInsnNode(h.getOwner().replace('/', '.') + "." + h.getName()));
        list.add(new LdcInsnNode(token));
        list.add(new MethodInsnNode(Opcodes.INVOKESTATIC, CallSites.RUNTIME, "methodReference",
                "(" + CALL_TOKEN + ")V", false));
        return list;
    }

    private static boolean weaveCall(MethodNode method, int base, MethodInsnNode call, String token) {
        if (call.owner.equals(CallSites.RUNTIME)) {
            return false;
        }
        String filter = CallSites.FILTERED.get(call.owner + "." + call.name + call.desc);
        if (filter != null && call.getOpcode() != Opcodes.INVOKESTATIC) {
            // The argument on top of the stack goes through the filter (argument, token) -> argument.
            Type arg = Type.getArgumentTypes(call.desc)[0];
            InsnList list = new InsnList();
            list.add(new LdcInsnNode(token));
            list.add(new MethodInsnNode(Opcodes.INVOKESTATIC, CallSites.RUNTIME, filter,
                    "(" + arg.getDescriptor() + "Ljava/lang/String;)" + arg.getDescriptor(), false));
            method.instructions.insertBefore(call, list);
            return true;
        }
        String replaced = CallSites.REPLACED.get(call.owner + "." + call.name + call.desc);
        if (replaced != null && call.getOpcode() == Opcodes.INVOKESTATIC) {
            method.instructions.insertBefore(call, new LdcInsnNode(token));
            int end = call.desc.indexOf(')');
            method.instructions.set(call, new MethodInsnNode(Opcodes.INVOKESTATIC, CallSites.RUNTIME, replaced,
                    call.desc.substring(0, end) + "Ljava/lang/String;" + call.desc.substring(end), false));
            return true;
        }
        CallSites.Site site = CallSites.match(call.getOpcode(), call.owner, call.name, call.desc);
        if (site == null) {
            return false;
        }
        boolean constructor = call.name.equals("<init>");
        boolean receiver = call.getOpcode() != Opcodes.INVOKESTATIC && !constructor;
        Type[] args = Type.getArgumentTypes(call.desc);
        Type[] operands = new Type[args.length + (receiver ? 1 : 0)];
        if (receiver) {
            operands[0] = Type.getObjectType(call.owner);
        }
        System.arraycopy(args, 0, operands, receiver ? 1 : 0, args.length);
        boolean store = site.checks().stream().anyMatch(c -> c.operands().length > 0);

        InsnList list = new InsnList();
        int[] slots = new int[operands.length];
        if (store) {
            int next = base;
            for (int i = 0; i < operands.length; i++) {
                slots[i] = next;
                next += operands[i].getSize();
            }
            method.maxLocals = Math.max(method.maxLocals, next);
            for (int i = operands.length - 1; i >= 0; i--) {
                list.add(new VarInsnNode(operands[i].getOpcode(Opcodes.ISTORE), slots[i]));
            }
        }
        String callName = call.owner.replace('/', '.') + "." + call.name;
        for (CallSites.Check check : site.checks()) {
            StringBuilder desc = new StringBuilder("(");
            for (int i : check.operands()) {
                list.add(new VarInsnNode(operands[i].getOpcode(Opcodes.ILOAD), slots[i]));
                desc.append(operands[i].getSort() >= Type.ARRAY ? "Ljava/lang/Object;" : operands[i].getDescriptor());
            }
            desc.append(CALL_TOKEN).append(")V");
            list.add(new LdcInsnNode(callName));
            list.add(new LdcInsnNode(token));
            list.add(new MethodInsnNode(Opcodes.INVOKESTATIC, CallSites.RUNTIME, check.method(), desc.toString(),
                    false));
        }
        if (store) {
            for (int i = 0; i < operands.length; i++) {
                list.add(new VarInsnNode(operands[i].getOpcode(Opcodes.ILOAD), slots[i]));
            }
        }
        method.instructions.insertBefore(call, list);
        return true;
    }

    /** For tests: whether a class file calls into the checks. */
    static boolean calls(byte[] classFile, List<String> methods) {
        ClassNode node = new ClassNode();
        new ClassReader(classFile).accept(node, 0);
        return node.methods.stream().flatMap(m -> java.util.Arrays.stream(m.instructions.toArray()))
                .anyMatch(i -> i instanceof MethodInsnNode c && c.owner.equals(CallSites.RUNTIME)
                        && methods.contains(c.name));
    }

}
