package dev.parley.itests.hostile.attacks;

import java.io.File;

/** Lists the server's configuration directory (where secrets and settings live) when activated. */
public class ConfigDirReader implements Runnable {
    private volatile String[] names;

    public void activate() {
        names = new File("config").list();
    }

    @Override
    public void run() {
        System.out.println(String.join(",", names));
    }
}
