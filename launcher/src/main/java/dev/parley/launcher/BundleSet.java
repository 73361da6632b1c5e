package dev.parley.launcher;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.jar.JarFile;
import java.util.stream.Stream;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleException;
import org.osgi.framework.Constants;

/**
 * The bundles the launcher ships, and how the framework cache is brought in line with them. The cache is kept
 * between starts: a bundle whose jar is unchanged is not installed again (no copy into the cache, no manifest
 * parse from the jar). A bundle's location names its jar and that jar's size and CRC, so a changed jar gets a new
 * location: the old bundle is uninstalled and the new one installed. Every other bundle in the cache (a jar no
 * longer shipped, plugins installed at run time) is uninstalled, so each start begins from exactly the shipped set,
 * as with a clean cache; the plugin reconciler installs the node's plugins again from the desired state.
 */
final class BundleSet {
    /** One bundle jar to run: its location (identity and content) and how to read it. */
    record Entry(String location, Opener opener) {
    }

    interface Opener {
        InputStream open() throws IOException;
    }

    static final String LOCATION_PREFIX = "parley:";

    private BundleSet() {
    }

    /** The jars under {@code bundles/} inside the launcher's own jar, in name order. */
    static List<Entry> fromJar(Path jar) throws IOException {
        if (Files.isDirectory(jar)) {
            return fromDirectory(jar);
        }
        var entries = new ArrayList<Entry>();
        try (var file = new JarFile(jar.toFile())) {
            file.stream().filter(e -> e.getName().startsWith("bundles/") && e.getName().endsWith(".jar"))
                    .sorted(Comparator.comparing(java.util.zip.ZipEntry::getName))
                    .forEach(e -> entries.add(new Entry(location(e.getName(), e.getSize(), e.getCrc()), () -> {
                        var in = new JarFile(jar.toFile());
                        return new java.io.FilterInputStream(in.getInputStream(in.getEntry(e.getName()))) {
                            @Override
                            public void close() throws IOException {
                                super.close();
                                in.close();
                            }
                        };
                    })));
        }
        return entries;
    }

    /** The jars in a directory, in name order. */
    static List<Entry> fromDirectory(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        var entries = new ArrayList<Entry>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path p : files.filter(f -> f.toString().endsWith(".jar")).sorted().toList()) {
                entries.add(new Entry(location(p.toUri().toString(), Files.size(p), Files.getLastModifiedTime(p).toMillis()),
                        () -> Files.newInputStream(p)));
            }
        }
        return entries;
    }

    static String location(String name, long size, long stamp) {
        return LOCATION_PREFIX + name + "#" + size + "-" + Long.toHexString(stamp);
    }

    /**
     * Uninstalls every bundle in the framework that is not wanted, installs the wanted ones that are missing, and
     * returns the wanted bundles in the order given.
     */
    static List<Bundle> sync(BundleContext context, List<Entry> wanted) throws IOException, BundleException {
        Map<String, Bundle> cached = new HashMap<>();
        for (Bundle b : context.getBundles()) {
            if (b.getBundleId() != Constants.SYSTEM_BUNDLE_ID) {
                cached.put(b.getLocation(), b);
            }
        }
        var keep = new HashMap<String, Bundle>();
        for (Entry e : wanted) {
            Bundle b = cached.remove(e.location());
            if (b != null) {
                keep.put(e.location(), b);
            }
        }
        for (Bundle stale : cached.values()) {
            stale.uninstall();
        }
        var bundles = new ArrayList<Bundle>();
        for (Entry e : wanted) {
            Bundle b = keep.get(e.location());
            if (b == null) {
                try (InputStream in = e.opener().open()) {
                    b = context.installBundle(e.location(), in);
                }
            }
            bundles.add(b);
        }
        return bundles;
    }
}
