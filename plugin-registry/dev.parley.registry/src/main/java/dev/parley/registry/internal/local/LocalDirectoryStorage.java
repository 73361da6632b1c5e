package dev.parley.registry.internal.local;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.metatype.annotations.Designate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.fasterxml.jackson.databind.ObjectMapper;

import dev.parley.registry.PluginDescriptors;
import dev.parley.registry.Publisher;
import dev.parley.registry.RegistryEntry;
import dev.parley.registry.RegistryException;
import dev.parley.registry.RegistryException.Reason;
import dev.parley.registry.internal.RegistryJson;
import dev.parley.registry.spi.RegistryStorage;

/**
 * The embedded default storage: one directory,
 * {@code plugins/<id>/<version>/<sha256>.jar} + {@code entry.json}, {@code publishers/<id>.json}.
 * Every file appears whole (written to a temporary file, then moved or linked into place). A version is recorded by
 * hard-linking its complete {@code entry.json} into place, which fails if the file exists: the file system decides
 * which of two racing publishes wins, across threads and processes alike.
 */
@Component(service = RegistryStorage.class, configurationPid = LocalStorageConfig.PID,
        property = RegistryStorage.KIND_PROPERTY + "=local")
@Designate(ocd = LocalStorageConfig.class)
public class LocalDirectoryStorage implements RegistryStorage {
    private static final Logger LOG = LoggerFactory.getLogger(LocalDirectoryStorage.class);
    static final String DATA_DIR_PROPERTY = "parley.data.dir";
    static final String ENTRY_FILE = "entry.json";
    /** Who owns a plugin id ({@link #claimOwner}): created once, beside the id's versions, never replaced. */
    static final String OWNER_FILE = "owner.json";
    static final String TEMP_PREFIX = ".tmp-";
    private static final Pattern VERSION = Pattern.compile("[0-9]+\\.[0-9]+\\.[0-9]+(\\.[-_0-9A-Za-z]+)?");
    private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");
    /** Temporary files older than this at start were left by a crashed writer. */
    private static final Duration STALE_TEMP = Duration.ofHours(1);

    private final Path root;
    private final Path plugins;
    private final Path publishers;
    private final ObjectMapper json = RegistryJson.newMapper();

    @Activate
    public LocalDirectoryStorage(BundleContext context, LocalStorageConfig config) {
        this(directory(context, config));
    }

    public LocalDirectoryStorage(Path root) {
        this.root = root.toAbsolutePath().normalize();
        this.plugins = this.root.resolve("plugins");
        this.publishers = this.root.resolve("publishers");
        try {
            Files.createDirectories(plugins);
            Files.createDirectories(publishers);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the registry directory " + this.root, e);
        }
        removeStaleTempFiles();
        LOG.info("registry storage kind=local directory={}", this.root);
    }

    private static Path directory(BundleContext context, LocalStorageConfig config) {
        if (config.directory() != null && !config.directory().isBlank()) {
            return Paths.get(config.directory().trim());
        }
        String data = context.getProperty(DATA_DIR_PROPERTY);
        return Paths.get(data == null || data.isBlank() ? "./data" : data).resolve("registry");
    }

    public Path root() {
        return root;
    }

    @Override
    public void putArtifact(String pluginId, String version, String sha256, byte[] artifact) {
        Path target = artifactPath(pluginId, version, sha256);
        if (Files.isRegularFile(target)) {
            return; // content-addressed: the same digest is the same bytes
        }
        try {
            Files.createDirectories(target.getParent());
            Path temp = writeTemp(target.getParent(), artifact);
            try {
                Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING);
            } finally {
                Files.deleteIfExists(temp);
            }
        } catch (IOException e) {
            throw storage("writing the artifact of " + pluginId + " " + version, e);
        }
    }

    @Override
    public Optional<byte[]> artifact(String pluginId, String version, String sha256) {
        try {
            return Optional.of(Files.readAllBytes(artifactPath(pluginId, version, sha256)));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            throw storage("reading the artifact of " + pluginId + " " + version, e);
        }
    }

    @Override
    public void deleteArtifact(String pluginId, String version, String sha256) {
        Path file = artifactPath(pluginId, version, sha256);
        try {
            // The (possibly empty) version directory stays: removing it could pull it from under a concurrent writer.
            Files.deleteIfExists(file);
        } catch (IOException e) {
            throw storage("deleting the artifact of " + pluginId + " " + version, e);
        }
    }

    @Override
    public boolean insert(RegistryEntry entry) {
        Path file = versionDir(entry.id(), entry.version()).resolve(ENTRY_FILE);
        try {
            Files.createDirectories(file.getParent());
            return createNew(file, json.writeValueAsBytes(entry));
        } catch (IOException e) {
            throw storage("recording " + entry.id() + " " + entry.version(), e);
        }
    }

    @Override
    public synchronized void update(RegistryEntry entry) {
        Path file = versionDir(entry.id(), entry.version()).resolve(ENTRY_FILE);
        RegistryEntry current = readEntry(file).orElseThrow(() -> new RegistryException(Reason.NOT_FOUND,
                "no plugin " + entry.id() + " version " + entry.version() + " in this registry"));
        // Only the mutable fields change; everything that identifies the artifact stays as first recorded.
        RegistryEntry updated = current.withStatus(entry.channel(), entry.yanked(), entry.yankReason());
        try {
            Path temp = writeTemp(file.getParent(), json.writeValueAsBytes(updated));
            try {
                Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } finally {
                Files.deleteIfExists(temp);
            }
        } catch (IOException e) {
            throw storage("updating " + entry.id() + " " + entry.version(), e);
        }
    }

    @Override
    public List<RegistryEntry> entries() {
        List<RegistryEntry> entries = new ArrayList<>();
        try (DirectoryStream<Path> ids = Files.newDirectoryStream(plugins, Files::isDirectory)) {
            for (Path id : ids) {
                try (DirectoryStream<Path> versions = Files.newDirectoryStream(id, Files::isDirectory)) {
                    for (Path version : versions) {
                        readEntry(version.resolve(ENTRY_FILE)).ifPresent(entries::add);
                    }
                }
            }
        } catch (IOException e) {
            throw storage("listing the registry", e);
        }
        return entries;
    }

    @Override
    public Optional<RegistryEntry> entry(String pluginId, String version) {
        return readEntry(versionDir(pluginId, version).resolve(ENTRY_FILE));
    }

    @Override
    public boolean insertPublisher(Publisher publisher) {
        try {
            return createNew(publisherPath(publisher.id()), json.writeValueAsBytes(publisher));
        } catch (IOException e) {
            throw storage("recording publisher " + publisher.id(), e);
        }
    }

    @Override
    public List<Publisher> publishers() {
        List<Publisher> all = new ArrayList<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(publishers, "*.json")) {
            for (Path file : files) {
                if (file.getFileName().toString().startsWith(TEMP_PREFIX)) {
                    continue;
                }
                all.add(json.readValue(file.toFile(), Publisher.class));
            }
        } catch (IOException e) {
            throw storage("reading the publishers", e);
        }
        return all;
    }

    /** The owner of a plugin id as recorded in its {@value #OWNER_FILE}. */
    record Owner(String publisher, Instant claimedAt) {
    }

    @Override
    public String claimOwner(String pluginId, String publisher) {
        Optional<String> known = owner(pluginId);
        if (known.isPresent()) {
            return known.get();
        }
        check(publisher, PluginDescriptors.ID, "publisher id");
        Path file = ownerPath(pluginId);
        try {
            Files.createDirectories(file.getParent());
            // The file system decides the first claim: createNew fails when another writer created the file first.
            createNew(file, json.writeValueAsBytes(new Owner(publisher, Instant.now())));
        } catch (IOException e) {
            throw storage("recording the owner of " + pluginId, e);
        }
        return readOwner(file).orElseThrow(() -> new RegistryException(Reason.STORAGE,
                "the owner of " + pluginId + " was neither recorded nor found"));
    }

    @Override
    public Optional<String> owner(String pluginId) {
        Optional<String> recorded = readOwner(ownerPath(pluginId));
        if (recorded.isPresent()) {
            return recorded;
        }
        // Published before owners were recorded: its earliest version's publisher.
        return RegistryStorage.super.owner(pluginId);
    }

    private Optional<String> readOwner(Path file) {
        try {
            return Optional.of(json.readValue(Files.readAllBytes(file), Owner.class).publisher());
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            throw storage("reading " + root.relativize(file), e);
        }
    }

    private Path ownerPath(String pluginId) {
        check(pluginId, PluginDescriptors.ID, "plugin id");
        return plugins.resolve(pluginId).resolve(OWNER_FILE);
    }

    /**
     * Writes {@code bytes} to {@code file} only if it does not exist yet, and so that a reader never sees it
     * partly written: the bytes go to a temporary file that is then hard-linked under the final name.
     */
    private boolean createNew(Path file, byte[] bytes) throws IOException {
        Path temp = writeTemp(file.getParent(), bytes);
        try {
            Files.createLink(file, temp);
            return true;
        } catch (FileAlreadyExistsException e) {
            return false;
        } catch (UnsupportedOperationException e) {
            // No hard links on this file system: CREATE_NEW still decides the winner atomically.
            try {
                Files.write(file, bytes, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
                return true;
            } catch (FileAlreadyExistsException exists) {
                return false;
            }
        } finally {
            Files.deleteIfExists(temp);
        }
    }

    private static Path writeTemp(Path dir, byte[] bytes) throws IOException {
        Path temp = Files.createTempFile(dir, TEMP_PREFIX, ".part");
        try {
            Files.write(temp, bytes, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.SYNC);
            return temp;
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(temp);
            throw e;
        }
    }

    private Optional<RegistryEntry> readEntry(Path file) {
        try {
            return Optional.of(json.readValue(Files.readAllBytes(file), RegistryEntry.class));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            throw storage("reading " + root.relativize(file), e);
        }
    }

    private Path versionDir(String pluginId, String version) {
        check(pluginId, PluginDescriptors.ID, "plugin id");
        check(version, VERSION, "version");
        return plugins.resolve(pluginId).resolve(version);
    }

    private Path artifactPath(String pluginId, String version, String sha256) {
        check(sha256, SHA256, "sha256");
        return versionDir(pluginId, version).resolve(sha256 + ".jar");
    }

    private Path publisherPath(String publisherId) {
        check(publisherId, PluginDescriptors.ID, "publisher id");
        return publishers.resolve(publisherId + ".json");
    }

    /** Names become paths: refuse anything that could leave the directory. */
    private static void check(String value, Pattern pattern, String what) {
        if (value == null || !pattern.matcher(value).matches() || value.equals(".") || value.equals("..")) {
            throw new IllegalArgumentException("not a valid " + what + ": '" + value + "'");
        }
    }

    private void removeStaleTempFiles() {
        Instant cutoff = Instant.now().minus(STALE_TEMP);
        try (Stream<Path> files = Files.walk(root)) {
            files.filter(f -> f.getFileName().toString().startsWith(TEMP_PREFIX)).forEach(f -> {
                try {
                    if (Files.getLastModifiedTime(f).toInstant().isBefore(cutoff)) {
                        Files.deleteIfExists(f);
                        LOG.info("removed a stale temporary file path={}", f);
                    }
                } catch (IOException e) {
                    LOG.warn("could not remove a stale temporary file path={}", f, e);
                }
            });
        } catch (IOException | UncheckedIOException e) {
            LOG.warn("could not scan for stale temporary files directory={}", root, e);
        }
    }

    private static RegistryException storage(String what, IOException e) {
        return new RegistryException(Reason.STORAGE, what + " failed: " + e.getMessage(), e);
    }
}
