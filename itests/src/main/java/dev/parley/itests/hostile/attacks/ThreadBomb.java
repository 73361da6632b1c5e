package dev.parley.itests.hostile.attacks;

/** Starts threads until the process can start no more when activated. */
public class ThreadBomb implements Runnable {

    public void activate() {
        while (true) {
            new Thread(this).start();
        }
    }

    @Override
    public void run() {
        try {
            new java.util.concurrent.CountDownLatch(1).await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
