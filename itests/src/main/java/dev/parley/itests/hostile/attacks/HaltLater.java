package dev.parley.itests.hostile.attacks;

/** Starts quietly, then ends the server with {@code Runtime.halt} the first time it is used. */
public class HaltLater implements Runnable {

    public void activate() {
        // nothing at start: the attack comes later
    }

    @Override
    public void run() {
        Runtime.getRuntime().halt(1);
    }
}
