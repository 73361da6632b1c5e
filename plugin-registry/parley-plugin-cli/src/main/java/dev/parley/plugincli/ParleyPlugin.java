package dev.parley.plugincli;

import dev.parley.registry.RegistryException;
import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code parley-plugin}: the command line a plugin publisher uses. Exit codes: 0 done, 1 refused or failed
 * (the reason is printed), 2 wrong usage.
 */
@Command(
        name = "parley-plugin",
        mixinStandardHelpOptions = true,
        versionProvider = ParleyPlugin.Version.class,
        description = "Make a publisher key, sign and verify plugin jars, publish them to a Parley registry, list it.",
        subcommands = {
            KeygenCommand.class,
            SignCommand.class,
            VerifyCommand.class,
            PublishCommand.class,
            ListCommand.class,
            IndexCommand.class,
            CommandLine.HelpCommand.class
        })
public final class ParleyPlugin implements Runnable {

    /** Exit code of a command that was refused or failed. */
    public static final int FAILED = 1;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /** Runs one command line with the given output streams; returns the exit code. */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        CommandLine cli = new CommandLine(new ParleyPlugin());
        cli.setOut(out);
        cli.setErr(err);
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            commandLine.getErr().println("error: " + message(e));
            return FAILED;
        });
        return cli.execute(args);
    }

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    private static String message(Exception e) {
        if (e instanceof RegistryException r) {
            return r.getMessage();
        }
        if (e instanceof java.nio.file.NoSuchFileException n) {
            return "no such file: " + n.getFile();
        }
        if (e instanceof java.nio.file.FileAlreadyExistsException f) {
            return "will not overwrite " + f.getFile();
        }
        if (e instanceof java.net.ConnectException) {
            return "cannot connect to the registry: " + (e.getMessage() == null ? "connection refused" : e.getMessage());
        }
        String m = e.getMessage();
        return m == null || m.isBlank() ? e.getClass().getSimpleName() : m;
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = ParleyPlugin.class.getPackage().getImplementationVersion();
            return new String[] {"parley-plugin " + (v == null ? "(development build)" : v)};
        }
    }
}
