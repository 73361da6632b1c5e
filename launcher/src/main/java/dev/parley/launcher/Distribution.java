package dev.parley.launcher;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.jar.JarFile;

/**
 * Which distribution this jar is (its manifest's {@code Parley-Distribution}: {@code all-in-one}, {@code gateway} or
 * {@code worker}; docs/architecture.md, "Distributions"), handed to the bundles as the framework property
 * {@code parley.distribution}. The gateway and the worker are parts of a cluster: they share one PostgreSQL database,
 * so they refuse to start on the embedded one.
 */
final class Distribution {
    static final String PROPERTY = "parley.distribution";
    static final String ATTRIBUTE = "Parley-Distribution";
    static final String ALL_IN_ONE = "all-in-one";

    private Distribution() {
    }

    /** The distribution named in {@code jar}'s manifest; all-in-one when it names none (or is not a jar). */
    static String of(Path jar) throws IOException {
        if (Files.isDirectory(jar)) {
            return ALL_IN_ONE;
        }
        try (var file = new JarFile(jar.toFile())) {
            var manifest = file.getManifest();
            String name = manifest == null ? null : manifest.getMainAttributes().getValue(ATTRIBUTE);
            return name == null || name.isBlank() ? ALL_IN_ONE : name.strip().toLowerCase(Locale.ROOT);
        }
    }

    /** Why {@code distribution} cannot start with this environment, or null. */
    static String refusal(String distribution, Map<String, String> env) {
        if (ALL_IN_ONE.equals(distribution)) {
            return null;
        }
        if (!"gateway".equals(distribution) && !"worker".equals(distribution)) {
            return "unknown distribution '" + distribution + "' in the jar's manifest (" + ATTRIBUTE + ")";
        }
        String url = env.getOrDefault("PARLEY_DB_URL", "").strip();
        if (!url.startsWith("jdbc:postgresql:")) {
            return "the " + distribution + " distribution is a part of a cluster and needs its shared PostgreSQL "
                    + "database: set PARLEY_DB_URL (jdbc:postgresql://host:5432/db), PARLEY_DB_USER and "
                    + "PARLEY_DB_PASSWORD; for one process on the embedded database run the all-in-one jar";
        }
        return null;
    }
}
