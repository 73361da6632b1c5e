package dev.parley.plugincli;

import dev.parley.registry.Signatures;
import java.nio.file.Path;
import java.util.Base64;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "verify", mixinStandardHelpOptions = true,
        description = "Check a plugin jar's detached signature against a publisher's public key. Exit 0 if it verifies, 1 if not.")
final class VerifyCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "<jar>", description = "The plugin jar.")
    Path jar;

    @Option(names = "--sig", required = true, paramLabel = "<file>", description = "The signature file (base64).")
    Path sig;

    @Option(names = "--pub", required = true, paramLabel = "<file>", description = "The publisher's public key file.")
    Path pub;

    @Override
    public Integer call() throws Exception {
        byte[] bytes = KeyFiles.readJar(jar);
        byte[] signature;
        try {
            signature = Base64.getDecoder().decode(KeyFiles.read(sig, "signature"));
        } catch (IllegalArgumentException notBase64) {
            throw new IllegalArgumentException("signature file " + sig + " is not base64 text");
        }
        boolean ok = Signatures.verify(bytes, signature, KeyFiles.read(pub, "public key"));
        if (ok) {
            spec.commandLine().getOut().println("verified: " + jar + " was signed with the key in " + pub);
            spec.commandLine().getOut().flush();
            return 0;
        }
        spec.commandLine().getErr().println("NOT verified: the signature in " + sig + " does not match " + jar
                + " and the key in " + pub);
        spec.commandLine().getErr().flush();
        return ParleyPlugin.FAILED;
    }
}
