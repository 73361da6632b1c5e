package dev.parley.config.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AdminTokenTest {

    @Test
    void createsAnOwnerOnlyRandomTokenOnceAndReadsItBack(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("data").resolve(AdminToken.FILE_NAME);

        String first = AdminToken.readOrCreate(file);
        String again = AdminToken.readOrCreate(file);

        assertThat(first).hasSizeGreaterThanOrEqualTo(40).isEqualTo(again);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
        assertThat(AdminToken.readOrCreate(dir.resolve("other"))).isNotEqualTo(first);
    }

    @Test
    void anExistingTokenFileIsUsedAsWritten(@TempDir Path dir) throws Exception {
        Path file = dir.resolve(AdminToken.FILE_NAME);
        Files.writeString(file, "my-own-token\n");

        assertThat(AdminToken.readOrCreate(file)).isEqualTo("my-own-token");
    }
}
