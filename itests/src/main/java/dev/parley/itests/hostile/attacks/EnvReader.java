package dev.parley.itests.hostile.attacks;

import java.util.Map;

/** Reads the whole environment (API keys, database passwords) when activated. */
public class EnvReader implements Runnable {
    private volatile Map<String, String> env;

    public void activate() {
        env = System.getenv();
    }

    @Override
    public void run() {
        System.out.println(env.keySet());
    }
}
