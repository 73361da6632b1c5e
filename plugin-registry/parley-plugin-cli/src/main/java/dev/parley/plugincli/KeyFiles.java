package dev.parley.plugincli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

/** Key and signature files: one line of base64 text. */
final class KeyFiles {
    private KeyFiles() {
    }

    static String read(Path file, String what) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException(what + " file not found: " + file);
        }
        String text = Files.readString(file, StandardCharsets.US_ASCII).trim();
        if (text.isEmpty()) {
            throw new IllegalArgumentException(what + " file is empty: " + file);
        }
        return text;
    }

    /** Writes a new file readable by its owner only (mode 600 where the file system has POSIX modes). */
    static void writePrivate(Path file, String text) throws IOException {
        if (FileSystems.getDefault().supportedFileAttributeViews().contains("posix")) {
            Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        } else {
            Files.createFile(file);
            file.toFile().setReadable(false, false);
            file.toFile().setReadable(true, true);
            file.toFile().setWritable(false, false);
            file.toFile().setWritable(true, true);
        }
        Files.writeString(file, text + "\n", StandardCharsets.US_ASCII);
    }

    static void writeNew(Path file, String text) throws IOException {
        Files.writeString(file, text + "\n", StandardCharsets.US_ASCII, java.nio.file.StandardOpenOption.CREATE_NEW,
                java.nio.file.StandardOpenOption.WRITE);
    }

    static byte[] readJar(Path jar) throws IOException {
        if (!Files.isRegularFile(jar)) {
            throw new IllegalArgumentException("plugin jar not found: " + jar);
        }
        return Files.readAllBytes(jar);
    }
}
