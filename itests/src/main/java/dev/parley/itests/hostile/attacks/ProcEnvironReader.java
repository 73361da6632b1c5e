package dev.parley.itests.hostile.attacks;

import java.io.FileInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;

/** Reads the process's environment through {@code /proc/self/environ} when activated. */
public class ProcEnvironReader implements Runnable {
    private volatile byte[] environ;

    public void activate() {
        try (var in = new FileInputStream("/proc/self/environ")) {
            environ = in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void run() {
        System.out.println(environ.length);
    }
}
