package dev.parley.db.internal;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

/** The test class path, except that one resource has other content: a migration file as if someone changed it. */
final class FileLoader extends ClassLoader {
    private final String path;
    private final String content;

    FileLoader(String path, String content) {
        super(FileLoader.class.getClassLoader());
        this.path = path;
        this.content = content;
    }

    @Override
    public InputStream getResourceAsStream(String name) {
        return name.equals(path) ? new ByteArrayInputStream(content.getBytes(StandardCharsets.UTF_8))
                : super.getResourceAsStream(name);
    }
}
