package dev.parley.pluginhost.internal;

import dev.parley.pluginhost.HostLimits;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Cgroups for plugin hosts (ADR 31): each host process gets a cgroup of its own under a parent Parley owns, with a CPU
 * quota, a task cap and a memory limit from its {@link HostLimits}. What the machine offers is found out here: cgroup
 * v2 (a unified hierarchy at the root), v1 (a hierarchy per controller), or neither writable; a controller that cannot
 * be used is left out and named, and without any the host runs with the JVM's limits alone.
 *
 * <p>The parent is relative to the server's own cgroup in each hierarchy ({@code /proc/self/cgroup}), so whatever the
 * operator limits the server to (a systemd slice, a container) holds for its hosts as well; a parent starting with
 * {@code /} is taken from the hierarchy's root.
 */
final class HostCgroups {
    /** The controllers a host's cgroup uses, in the order they are reported. */
    static final List<String> CONTROLLERS = List.of("cpu", "pids", "memory");
    static final long CPU_PERIOD_US = 100_000;

    private final Path root;
    private final String parent;
    private final Path selfCgroup;
    private final boolean enabled;

    /**
     * @param root       where the cgroup file systems are mounted ({@code /sys/fs/cgroup})
     * @param parent     the parent of the hosts' cgroups, relative to the server's cgroup unless it starts with /
     * @param selfCgroup the server's cgroup membership ({@code /proc/self/cgroup})
     * @param enabled    false: never use cgroups
     */
    HostCgroups(Path root, String parent, Path selfCgroup, boolean enabled) {
        this.root = root;
        this.parent = parent.strip();
        this.selfCgroup = selfCgroup;
        this.enabled = enabled;
    }

    /**
     * One host's cgroup: where its process goes ({@link #procs}), what was applied ({@link #summary}), and how it is
     * removed when the process has ended.
     *
     * @param summary the log and status form: {@code cgroups=v1 cpu,pids,memory …} or {@code cgroups=not-applied
     *                reason=…}
     * @param path    the cgroup relative to each hierarchy's root, null when none
     * @param procs   the {@code cgroup.procs} files to write the process's pid to before it runs anything
     * @param dirs    the directories to remove afterwards, deepest first
     */
    record Placement(String summary, String path, List<Path> procs, List<Path> dirs) {
        static Placement none(String reason) {
            return new Placement("cgroups=not-applied reason=\"" + reason.replace('"', '\'') + "\"", null, List.of(),
                    List.of());
        }

        boolean applied() {
            return !procs.isEmpty();
        }

        /** Removes the cgroup; an already gone one counts as removed. @return what could not be removed, or null */
        String remove() {
            List<String> left = new ArrayList<>();
            for (Path d : dirs) {
                try {
                    Files.deleteIfExists(d);
                } catch (IOException e) {
                    left.add(d + " (" + e.getMessage() + ")");
                }
            }
            return left.isEmpty() ? null : String.join(", ", left);
        }
    }

    /** Creates the cgroup {@code name} with {@code limits} applied, or says why none can be had. */
    Placement create(String name, HostLimits limits) {
        if (!enabled) {
            return Placement.none("turned off (cgroups=off)");
        }
        try {
            if (Files.isRegularFile(root.resolve("cgroup.controllers"))) {
                return v2(name, limits);
            }
            return v1(name, limits);
        } catch (IOException | RuntimeException e) {
            return Placement.none(describe(e));
        }
    }

    /** Removes the empty cgroups a previous run of the server left under the parent (its hosts are gone). */
    int removeLeftovers() {
        if (!enabled) {
            return 0;
        }
        int removed = 0;
        List<Path> parents = new ArrayList<>();
        try {
            if (Files.isRegularFile(root.resolve("cgroup.controllers"))) {
                parents.add(parentDir(root, ownPath("")));
            } else {
                for (String c : CONTROLLERS) {
                    String own = ownPath(c);
                    if (own != null && isV1(root.resolve(c))) {
                        parents.add(parentDir(root.resolve(c), own));
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            return 0;
        }
        for (Path p : parents) {
            if (!Files.isDirectory(p)) {
                continue;
            }
            try (DirectoryStream<Path> children = Files.newDirectoryStream(p, Files::isDirectory)) {
                for (Path child : children) {
                    try {
                        Files.delete(child);
                        removed++;
                    } catch (IOException busy) {
                        // still has processes: not ours to end
                    }
                }
            } catch (IOException e) {
                // not listable: nothing to clean
            }
        }
        return removed;
    }

    private Placement v2(String name, HostLimits limits) throws IOException {
        String own = ownPath("");
        if (own == null) {
            return Placement.none("cgroup v2 is mounted at " + root + " but " + selfCgroup + " names no v2 cgroup");
        }
        List<String> available = List.of(read(root.resolve("cgroup.controllers")).split("\\s+"));
        List<String> wanted = CONTROLLERS.stream().filter(available::contains).toList();
        if (wanted.isEmpty()) {
            return Placement.none("cgroup v2 offers none of " + CONTROLLERS);
        }
        Path parentDir = parentDir(root, own);
        Files.createDirectories(parentDir);
        // A controller reaches a cgroup only if every ancestor enables it for its children (cgroup.subtree_control).
        // The server's own cgroup holds processes, so it cannot enable them (the kernel answers EBUSY): then the
        // parent must be set from the root.
        List<String> enabledHere = new ArrayList<>(wanted);
        List<String> notEnabled = new ArrayList<>();
        List<Path> chain = new ArrayList<>();
        chain.add(root);
        for (Path part : root.relativize(parentDir)) {
            chain.add(chain.get(chain.size() - 1).resolve(part.toString()));
        }
        for (Path dir : chain) {
            List<String> has = List.of(read(dir.resolve("cgroup.subtree_control")).split("\\s+"));
            for (String c : new ArrayList<>(enabledHere)) {
                if (!has.contains(c)) {
                    try {
                        Files.writeString(dir.resolve("cgroup.subtree_control"), "+" + c);
                    } catch (IOException e) {
                        enabledHere.remove(c);
                        notEnabled.add(c + " (" + dir + ": " + describe(e) + ")");
                    }
                }
            }
        }
        if (enabledHere.isEmpty()) {
            return Placement.none("cgroup v2: no controller could be enabled for " + parentDir + ": " + notEnabled);
        }
        Path dir = unique(parentDir, name);
        Map<String, String> limitsWritten = new LinkedHashMap<>();
        List<String> applied = new ArrayList<>();
        for (String c : enabledHere) {
            String file = switch (c) {
                case "cpu" -> "cpu.max";
                case "pids" -> "pids.max";
                default -> "memory.max";
            };
            String value = switch (c) {
                case "cpu" -> cpuQuota(limits) + " " + CPU_PERIOD_US;
                case "pids" -> Integer.toString(limits.maxHostThreads());
                default -> Long.toString(limits.memoryMb() * 1024L * 1024L);
            };
            try {
                Files.writeString(dir.resolve(file), value);
                applied.add(c);
                limitsWritten.put(file, value);
            } catch (IOException e) {
                notEnabled.add(c + " (" + file + ": " + describe(e) + ")");
            }
        }
        if (limitsWritten.containsKey("memory.max")) {
            try {
                Files.writeString(dir.resolve("memory.swap.max"), "0");
            } catch (IOException e) {
                // no swap accounting: the limit still holds for memory
            }
        }
        String path = "/" + root.relativize(dir);
        return placement("v2", applied, notEnabled, limitsWritten, path, List.of(dir.resolve("cgroup.procs")),
                List.of(dir));
    }

    private Placement v1(String name, HostLimits limits) throws IOException {
        List<String> applied = new ArrayList<>();
        List<String> missing = new ArrayList<>();
        Map<String, String> limitsWritten = new LinkedHashMap<>();
        List<Path> procs = new ArrayList<>();
        List<Path> dirs = new ArrayList<>();
        String relative = null;
        String leaf = null;
        for (String c : CONTROLLERS) {
            Path hierarchy = root.resolve(c);
            if (!isV1(hierarchy)) {
                missing.add(c + " (no v1 hierarchy at " + hierarchy + ")");
                continue;
            }
            String own = ownPath(c);
            if (own == null) {
                missing.add(c + " (" + selfCgroup + " names no " + c + " cgroup)");
                continue;
            }
            Path dir;
            try {
                Path parentDir = parentDir(hierarchy, own);
                Files.createDirectories(parentDir);
                if (leaf == null) {
                    dir = unique(parentDir, name);
                    leaf = dir.getFileName().toString();
                } else {
                    dir = parentDir.resolve(leaf);
                    Files.createDirectories(dir);
                }
            } catch (IOException e) {
                missing.add(c + " (" + describe(e) + ")");
                continue;
            }
            dirs.add(dir);
            try {
                switch (c) {
                    case "cpu" -> {
                        Files.writeString(dir.resolve("cpu.cfs_period_us"), Long.toString(CPU_PERIOD_US));
                        Files.writeString(dir.resolve("cpu.cfs_quota_us"), Long.toString(cpuQuota(limits)));
                        limitsWritten.put("cpu.cfs_quota_us", cpuQuota(limits) + "/" + CPU_PERIOD_US);
                    }
                    case "pids" -> {
                        Files.writeString(dir.resolve("pids.max"), Integer.toString(limits.maxHostThreads()));
                        limitsWritten.put("pids.max", Integer.toString(limits.maxHostThreads()));
                    }
                    default -> {
                        long bytes = limits.memoryMb() * 1024L * 1024L;
                        Files.writeString(dir.resolve("memory.limit_in_bytes"), Long.toString(bytes));
                        limitsWritten.put("memory.limit_in_bytes", Long.toString(bytes));
                    }
                }
            } catch (IOException e) {
                missing.add(c + " (" + describe(e) + ")");
                continue;
            }
            applied.add(c);
            procs.add(dir.resolve("cgroup.procs"));
            if (relative == null || c.equals("pids")) {
                relative = "/" + hierarchy.relativize(dir);
            }
        }
        if (applied.isEmpty()) {
            for (Path d : dirs) {
                Files.deleteIfExists(d);
            }
            return Placement.none(missing.isEmpty() ? "no cgroup hierarchy at " + root
                    : "no controller could be used: " + missing);
        }
        // The same leaf name in every hierarchy; the server's own cgroup may differ per hierarchy, so the status shows
        // the path in the pids hierarchy (or the first one applied).
        return placement("v1", applied, missing, limitsWritten, relative, procs, dirs);
    }

    private static Placement placement(String version, List<String> applied, List<String> missing,
            Map<String, String> limits, String path, List<Path> procs, List<Path> dirs) {
        StringBuilder s = new StringBuilder("cgroups=").append(version).append(' ').append(String.join(",", applied));
        limits.forEach((k, v) -> s.append(' ').append(k).append('=').append(v));
        if (!missing.isEmpty()) {
            s.append(" not-applied=\"").append(String.join("; ", missing).replace('"', '\'')).append('"');
        }
        return new Placement(s.toString(), path, List.copyOf(procs), List.copyOf(dirs));
    }

    static long cpuQuota(HostLimits limits) {
        return Math.max(1000, limits.cpuMillicores() * CPU_PERIOD_US / 1000);
    }

    private static boolean isV1(Path hierarchy) {
        return Files.isRegularFile(hierarchy.resolve("tasks")) && Files.isRegularFile(hierarchy.resolve("cgroup.procs"));
    }

    private Path parentDir(Path hierarchy, String own) {
        String p = parent.startsWith("/") ? parent : (own.endsWith("/") ? own : own + "/") + parent;
        Path dir = hierarchy;
        for (String part : p.split("/")) {
            if (part.isEmpty() || part.equals(".")) {
                continue;
            }
            if (part.equals("..")) {
                throw new IllegalArgumentException("the cgroup parent may not contain '..': " + parent);
            }
            dir = dir.resolve(part);
        }
        return dir;
    }

    /** A new directory {@code name}, or {@code name.2}, {@code name.3} … when one is left over. */
    private static Path unique(Path parentDir, String name) throws IOException {
        for (int i = 1; i < 1000; i++) {
            Path dir = parentDir.resolve(i == 1 ? name : name + "." + i);
            try {
                return Files.createDirectory(dir);
            } catch (java.nio.file.FileAlreadyExistsException e) {
                // left over from a process of the same name: try the next
            }
        }
        throw new IOException("no free cgroup name for " + name + " under " + parentDir);
    }

    /**
     * The server's cgroup in the hierarchy of {@code controller} ({@code ""}: the v2 hierarchy), from
     * {@code /proc/self/cgroup}: lines of {@code id:controllers:path}.
     */
    private String ownPath(String controller) throws IOException {
        for (String line : Files.readAllLines(selfCgroup, StandardCharsets.UTF_8)) {
            String[] f = line.split(":", 3);
            if (f.length != 3) {
                continue;
            }
            if (controller.isEmpty() ? f[0].equals("0") && f[1].isEmpty()
                    : List.of(f[1].split(",")).contains(controller)) {
                return f[2].isBlank() ? "/" : f[2].strip();
            }
        }
        return null;
    }

    private static String read(Path file) throws IOException {
        return Files.readString(file, StandardCharsets.UTF_8).strip();
    }

    static String describe(Exception e) {
        if (e instanceof java.nio.file.AccessDeniedException a) {
            return "not writable: " + a.getFile();
        }
        if (e instanceof java.nio.file.NoSuchFileException n) {
            return "missing: " + n.getFile();
        }
        if (e instanceof java.nio.file.FileSystemException f) {
            return f.getFile() + ": " + f.getReason();
        }
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }
}
