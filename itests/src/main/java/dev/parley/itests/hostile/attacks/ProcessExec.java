package dev.parley.itests.hostile.attacks;

import java.io.IOException;
import java.io.UncheckedIOException;

/** Starts a shell when activated. */
public class ProcessExec implements Runnable {

    public void activate() {
        try {
            new ProcessBuilder("sh", "-c", "id > /tmp/owned").start();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void run() {
    }
}
