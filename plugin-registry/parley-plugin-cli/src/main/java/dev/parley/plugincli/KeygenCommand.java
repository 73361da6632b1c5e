package dev.parley.plugincli;

import dev.parley.registry.Signatures;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "keygen", mixinStandardHelpOptions = true,
        description = {"Make an Ed25519 key pair for a publisher: <id>.key (private, mode 600) and <id>.pub.",
            "Give <id>.pub to a Parley admin to register; keep <id>.key secret."})
final class KeygenCommand implements Callable<Integer> {

    /** The same shape the registry accepts for publisher ids. */
    static final Pattern PUBLISHER_ID = Pattern.compile("[a-z0-9][a-z0-9._-]{0,63}");

    @Spec
    CommandSpec spec;

    @Option(names = "--publisher", required = true, paramLabel = "<id>",
            description = "Publisher id, as in the Parley-Plugin header's publisher= (lower case, digits, . _ -).")
    String publisher;

    @Option(names = "--out", paramLabel = "<dir>", defaultValue = ".", description = "Directory for the key files (default: current).")
    Path out;

    @Override
    public Integer call() throws Exception {
        if (!PUBLISHER_ID.matcher(publisher).matches()) {
            throw new IllegalArgumentException("publisher id '" + publisher
                    + "' is not valid: use 1-64 of a-z, 0-9, '.', '_', '-', starting with a letter or digit");
        }
        Files.createDirectories(out);
        Path key = out.resolve(publisher + ".key");
        Path pub = out.resolve(publisher + ".pub");
        for (Path p : new Path[] {key, pub}) {
            if (Files.exists(p)) {
                throw new IllegalArgumentException("will not overwrite " + p + ": move it away first");
            }
        }
        String[] pair = Signatures.generateKeyPair();
        KeyFiles.writePrivate(key, pair[1]);
        KeyFiles.writeNew(pub, pair[0]);
        var o = spec.commandLine().getOut();
        o.println("private key: " + key + "  (keep it secret)");
        o.println("public key:  " + pub);
        o.println();
        o.println("Ask a Parley admin to register the public key:");
        o.println("  POST /api/v1/admin/registry/publishers  {\"id\":\"" + publisher + "\",\"publicKey\":\"" + pair[0] + "\"}");
        o.flush();
        return 0;
    }
}
