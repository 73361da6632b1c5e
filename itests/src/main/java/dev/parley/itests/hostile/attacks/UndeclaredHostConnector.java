package dev.parley.itests.hostile.attacks;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.Socket;

/** Opens a socket to a host it never declared when activated. */
public class UndeclaredHostConnector implements Runnable {

    public void activate() {
        try (var socket = new Socket("198.51.100.7", 443)) {
            socket.getOutputStream().write(1);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void run() {
    }
}
