package dev.parley.itests.hostile.attacks;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Reads the server's admin token from its data directory when activated. */
public class AdminTokenReader implements Runnable {
    private volatile String token;

    public void activate() {
        try {
            token = Files.readString(Path.of("data", "admin-token"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void run() {
        System.out.println(token);
    }
}
