package dev.parley.deploy;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** The repository and the external tools the checks run (installed by deploy-checks/install-tools.sh). */
final class Tools {

    private Tools() {
    }

    static Path repo() {
        String dir = System.getProperty("parley.repo.dir");
        Path p = dir != null ? Path.of(dir) : Path.of("..");
        return p.toAbsolutePath().normalize();
    }

    static Path chart() {
        return repo().resolve("k8s/helm/parley");
    }

    static String helm() {
        return tool(repo().resolve(".tools/bin/helm"), "helm");
    }

    static String kubectl() {
        return tool(repo().resolve(".tools/bin/kubectl"), "kubectl");
    }

    static String nginx() {
        return tool(Path.of("/usr/sbin/nginx"), "nginx");
    }

    static String dockerCompose() {
        return tool(Path.of("/usr/bin/docker-compose"), "docker-compose");
    }

    static String promtool() {
        return tool(Path.of("/usr/bin/promtool"), "promtool");
    }

    private static String tool(Path preferred, String name) {
        if (Files.isExecutable(preferred)) {
            return preferred.toString();
        }
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            Path candidate = Path.of(dir.isEmpty() ? "." : dir, name);
            if (Files.isExecutable(candidate)) {
                return candidate.toString();
            }
        }
        throw new IllegalStateException(name + " is not installed: .ci/run installs it (deploy-checks/install-tools.sh;"
                + " promtool: Debian package prometheus)");
    }

    /** The outcome of one process: exit code and what it printed. */
    record Result(int exitCode, String stdout, String stderr) {
        boolean ok() {
            return exitCode == 0;
        }

        String describe() {
            return "exit " + exitCode + "\nstdout:\n" + stdout + "\nstderr:\n" + stderr;
        }
    }

    static Result run(List<String> command) {
        return run(command, null, Map.of(), false);
    }

    /**
     * Runs a command to its end (at most two minutes). env: variables to set; cleanEnv: start from PATH and HOME only,
     * so that nothing of the caller's environment (e.g. PARLEY_* settings) leaks into what is checked.
     */
    static Result run(List<String> command, Path workDir, Map<String, String> env, boolean cleanEnv) {
        return run(command, workDir, env, cleanEnv, null);
    }

    static String node() {
        return tool(Path.of("/usr/bin/node"), "node");
    }

    /** As above, with `stdin` written to the process's standard input (null: none). */
    static Result run(List<String> command, Path workDir, Map<String, String> env, boolean cleanEnv, String stdin) {
        ProcessBuilder pb = new ProcessBuilder(new ArrayList<>(command));
        if (workDir != null) {
            pb.directory(workDir.toFile());
        }
        if (cleanEnv) {
            Map<String, String> e = pb.environment();
            String path = e.get("PATH");
            String home = e.get("HOME");
            e.clear();
            if (path != null) {
                e.put("PATH", path);
            }
            if (home != null) {
                e.put("HOME", home);
            }
        }
        pb.environment().putAll(env);
        try {
            Process p = pb.start();
            try (OutputStream in = p.getOutputStream()) {
                if (stdin != null) {
                    in.write(stdin.getBytes(StandardCharsets.UTF_8));
                }
            }
            CompletableFuture<String> out = CompletableFuture.supplyAsync(() -> read(p.getInputStream()));
            CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> read(p.getErrorStream()));
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException("timed out after 120 s: " + command);
            }
            return new Result(p.exitValue(), out.join(), err.join());
        } catch (IOException e) {
            throw new IllegalStateException("cannot run " + command + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted: " + command, e);
        }
    }

    private static String read(InputStream in) {
        try (in) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
