package dev.parley.plugincli;

import dev.parley.registry.Signatures;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "sign", mixinStandardHelpOptions = true,
        description = "Sign a plugin jar with a publisher's private key; writes <jar>.sig (base64 Ed25519 signature).")
final class SignCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "<jar>", description = "The plugin jar.")
    Path jar;

    @Option(names = "--key", required = true, paramLabel = "<file>", description = "The private key file from keygen.")
    Path key;

    @Option(names = "--out", paramLabel = "<file>", description = "Where to write the signature (default: <jar>.sig).")
    Path out;

    @Override
    public Integer call() throws Exception {
        byte[] bytes = KeyFiles.readJar(jar);
        String signature = Base64.getEncoder().encodeToString(Signatures.sign(bytes, KeyFiles.read(key, "private key")));
        Path target = out != null ? out : jar.resolveSibling(jar.getFileName() + ".sig");
        Files.writeString(target, signature + "\n");
        spec.commandLine().getOut().println("signed " + jar + " (sha256 " + Signatures.sha256Hex(bytes) + ") -> " + target);
        spec.commandLine().getOut().flush();
        return 0;
    }
}
