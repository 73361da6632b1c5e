package dev.parley.image;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The image's one layer as GNU tar lists it: owners, modes, times and order of every entry. */
class ImageFilesystemTest {
    private static final Image IMAGE = Image.built();
    private static final List<Entry> ENTRIES = list(IMAGE.layer());

    record Entry(String mode, int uid, int gid, long mtime, String name) {
        boolean symlink() {
            return mode.charAt(0) == 'l';
        }

        /** Whether a process of uid/gid {@code id} (and no supplementary group) may write it. */
        boolean writableBy(int id) {
            return (uid == id && mode.charAt(2) == 'w') || (gid == id && mode.charAt(5) == 'w') || mode.charAt(8) == 'w';
        }
    }

    private static List<Entry> list(Path layer) {
        try {
            String out = Image.run(Path.of("."), Map.of("TZ", "UTC", "LC_ALL", "C"), 300,
                    List.of("tar", "--numeric-owner", "--full-time", "-tvzf", layer.toString())).ok().output();
            List<Entry> entries = new ArrayList<>();
            for (String line : out.split("\n")) {
                String[] f = line.trim().split("\\s+", 6);
                String[] owner = f[1].split("/");
                long mtime = LocalDateTime.parse(f[3] + "T" + f[4]).toEpochSecond(ZoneOffset.UTC);
                String name = f[5];
                int arrow = name.indexOf(" -> ");
                int link = name.indexOf(" link to ");
                name = arrow > 0 ? name.substring(0, arrow) : link > 0 ? name.substring(0, link) : name;
                // As the builder wrote it: "./bin/sh" or "bin/sh", "bin/" or "bin"; here always "/bin/sh", "/bin".
                name = "/" + name.replaceFirst("^\\./", "").replaceFirst("/$", "");
                entries.add(new Entry(f[0], Integer.parseInt(owner[0]), Integer.parseInt(owner[1]), mtime, name));
            }
            return entries;
        } catch (Exception e) {
            throw new IllegalStateException("cannot list " + layer, e);
        }
    }

    private static int userId() {
        String user = IMAGE.config().path("config").path("User").asText();
        return Integer.parseInt(user.substring(0, user.indexOf(':')));
    }

    @Test
    void theServersUserMayWriteOnlyTheDataVolumeAndTmp() {
        int id = userId();
        assertThat(ENTRIES).hasSizeGreaterThan(300);
        List<String> writable = ENTRIES.stream().filter(e -> !e.symlink() && e.writableBy(id)).map(Entry::name).toList();
        assertThat(writable).containsExactlyInAnyOrder("/var/lib/parley", "/tmp");
        Entry tmp = ENTRIES.stream().filter(e -> e.name().equals("/tmp")).findFirst().orElseThrow();
        assertThat(tmp.mode()).isEqualTo("drwxrwxrwt");
        Entry data = ENTRIES.stream().filter(e -> e.name().equals("/var/lib/parley")).findFirst().orElseThrow();
        assertThat(data.uid()).isEqualTo(id);
        assertThat(data.mode()).isEqualTo("drwxr-x---");
        // The data directory is the volume the configuration names.
        assertThat(ImageConfigTest.env(IMAGE.config().path("config")).get("PARLEY_DATA_DIR")).isEqualTo("/var/lib/parley");
    }

    @Test
    void everythingElseBelongsToRootAndNothingIsSetuid() {
        assertThat(ENTRIES.stream().filter(e -> !e.name().equals("/var/lib/parley"))
                .filter(e -> e.uid() != 0 || e.gid() != 0).map(Entry::name)).isEmpty();
        assertThat(ENTRIES.stream().filter(e -> e.mode().charAt(0) == '-')
                .filter(e -> e.mode().matches("...[sS].*|......[sS].*")).map(Entry::name)).isEmpty();
    }

    @Test
    void everyTimestampIsTheSourceDateAndEntriesAreSortedByName() {
        long epoch = java.time.Instant.parse(IMAGE.buildArgs().get("CREATED")).getEpochSecond();
        assertThat(ENTRIES.stream().filter(e -> e.mtime() != epoch).map(Entry::name)).isEmpty();
        // Sorted by name, directory by directory (a directory's entries right after it).
        assertThat(ENTRIES.stream().map(Entry::name).toList()).isSortedAccordingTo(ImageFilesystemTest::byPath);
    }

    private static int byPath(String a, String b) {
        String[] x = a.split("/");
        String[] y = b.split("/");
        for (int i = 0; i < Math.min(x.length, y.length); i++) {
            int c = java.util.Arrays.compareUnsigned(x[i].getBytes(java.nio.charset.StandardCharsets.UTF_8),
                    y[i].getBytes(java.nio.charset.StandardCharsets.UTF_8));
            if (c != 0) {
                return c;
            }
        }
        return Integer.compare(x.length, y.length);
    }

    @Test
    void holdsTheRuntimeTheJarTheShellAndTheUser() {
        List<String> names = ENTRIES.stream().map(Entry::name).toList();
        assertThat(names).contains("/opt/java/bin/java", "/opt/parley/parley.jar", "/bin/busybox", "/bin/sh",
                "/etc/passwd", "/etc/group", "/etc/nsswitch.conf", "/etc/os-release", "/var/lib/dpkg/status",
                "/opt/parley/parley.cdx.json");
        // No package manager, no compiler, no second shell.
        assertThat(names).doesNotContain("/usr/bin/apt", "/usr/bin/dpkg", "/bin/bash", "/bin/dash", "/opt/java/bin/javac");
    }
}
