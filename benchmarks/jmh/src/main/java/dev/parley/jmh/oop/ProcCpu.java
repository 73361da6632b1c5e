package dev.parley.jmh.oop;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Another process's CPU time from {@code /proc/<pid>/stat} (Linux): user + system time of all its threads. */
public final class ProcCpu {
    /** Clock ticks per second of {@code /proc}'s times ({@code getconf CLK_TCK}; 100 on Linux in practice). */
    private static final long TICKS_PER_SECOND = ticks();

    private ProcCpu() {
    }

    public static long nanos(long pid) {
        String stat;
        try {
            stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        // Fields after the command (in parentheses, which may hold spaces): state is field 3, utime 14, stime 15.
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        long ticks = Long.parseLong(f[11]) + Long.parseLong(f[12]);
        return ticks * 1_000_000_000L / TICKS_PER_SECOND;
    }

    private static long ticks() {
        try {
            Process p = new ProcessBuilder("getconf", "CLK_TCK").redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes()).strip();
            return p.waitFor() == 0 ? Long.parseLong(out) : 100;
        } catch (IOException | NumberFormatException e) {
            return 100;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 100;
        }
    }
}
