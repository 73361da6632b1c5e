package dev.parley.registry.internal;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.jar.Manifest;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.metatype.annotations.Designate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import aQute.bnd.version.Version;
import dev.parley.registry.PluginDescriptor;
import dev.parley.registry.PluginDescriptors;
import dev.parley.registry.PluginRegistry;
import dev.parley.registry.Publisher;
import dev.parley.registry.RegistryEntry;
import dev.parley.registry.RegistryException;
import dev.parley.registry.RegistryException.Reason;
import dev.parley.registry.Signatures;
import dev.parley.registry.spi.RegistryStorage;

/**
 * The registry: checks every upload (size, manifest, publisher, signature) before anything is stored, keeps
 * versions immutable, and checks stored bytes against their recorded digest on the way out.
 */
@Component(service = PluginRegistry.class, configurationPid = RegistryConfig.PID)
@Designate(ocd = RegistryConfig.class)
public class VerifyingPluginRegistry implements PluginRegistry {
    private static final Logger LOG = LoggerFactory.getLogger(VerifyingPluginRegistry.class);
    static final Comparator<RegistryEntry> BY_ID_THEN_NEWEST = Comparator.comparing(RegistryEntry::id)
            .thenComparing((a, b) -> new Version(b.version()).compareTo(new Version(a.version())));

    private final RegistryStorage storage;
    private final long maxArtifactBytes;
    private final Clock clock;
    /** Manifests of indexed artifacts by digest: artifacts never change, so neither do these. */
    private final Map<String, Manifest> manifests = new ConcurrentHashMap<>();

    @Activate
    public VerifyingPluginRegistry(
            @Reference(name = "storage", target = "(" + RegistryStorage.KIND_PROPERTY + "=local)")
            Map.Entry<Map<String, Object>, RegistryStorage> storage,
            RegistryConfig config) {
        this(storage.getValue(), config.maxArtifactBytes(), Clock.systemUTC());
        Object kind = storage.getKey().get(RegistryStorage.KIND_PROPERTY);
        if (!config.storage().equals(kind)) {
            throw new IllegalStateException("configured storage=" + config.storage() + " but the bound storage is '"
                    + kind + "'; set storage.target=" + StorageTargetPlugin.filter(config.storage()));
        }
        trust(config.trustedPublishers());
    }

    public VerifyingPluginRegistry(RegistryStorage storage, long maxArtifactBytes, Clock clock) {
        if (maxArtifactBytes <= 0) {
            throw new IllegalArgumentException("maxArtifactBytes must be positive, not " + maxArtifactBytes);
        }
        this.storage = storage;
        this.maxArtifactBytes = maxArtifactBytes;
        this.clock = clock;
    }

    /** Adds {@code id=base64PublicKey} entries (configuration); a malformed or conflicting one stops activation. */
    void trust(String[] trustedPublishers) {
        if (trustedPublishers == null) {
            return;
        }
        for (String spec : trustedPublishers) {
            if (spec == null || spec.isBlank()) {
                continue;
            }
            int eq = spec.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("trustedPublishers entry '" + spec + "' is not id=base64PublicKey");
            }
            Publisher p = addPublisher(spec.substring(0, eq).trim(), spec.substring(eq + 1).trim());
            LOG.info("trusted publisher from configuration id={}", p.id());
        }
    }

    public long maxArtifactBytes() {
        return maxArtifactBytes;
    }

    @Override
    public RegistryEntry publish(byte[] artifact, byte[] signature, String channel) {
        String ch = channel == null || channel.isBlank() ? RegistryEntry.STABLE : channel.trim();
        if (!ch.equals(RegistryEntry.STABLE) && !ch.equals(RegistryEntry.BETA)) {
            throw new RegistryException(Reason.INVALID_PLUGIN, "channel must be stable or beta, not '" + channel + "'");
        }
        if (artifact == null || artifact.length == 0) {
            throw new RegistryException(Reason.INVALID_PLUGIN, "not a jar: the upload is empty");
        }
        if (artifact.length > maxArtifactBytes) {
            throw tooLarge(artifact.length);
        }
        PluginDescriptor d = PluginDescriptors.read(artifact);
        String what = d.id() + " " + d.version();
        if (DISTRIBUTION_PUBLISHER.equals(d.publisher())) {
            throw reserved("the Parley-Plugin header of " + what + " names publisher '" + DISTRIBUTION_PUBLISHER
                    + "', which is reserved for the plugins the server ships; name your own publisher");
        }
        Publisher publisher = publisher(d.publisher()).orElseThrow(() -> new RegistryException(Reason.UNKNOWN_PUBLISHER,
                "publisher '" + d.publisher() + "' named in the Parley-Plugin header of " + what
                        + " is not known to this registry; ask an admin to add its public key"));
        if (signature == null || signature.length == 0) {
            throw new RegistryException(Reason.BAD_SIGNATURE, what + " has no signature; sign the jar with the private key of '"
                    + publisher.id() + "'");
        }
        if (!Signatures.verify(artifact, signature, publisher.publicKey())) {
            throw new RegistryException(Reason.BAD_SIGNATURE, "the signature of " + what
                    + " does not verify with the key of publisher '" + publisher.id()
                    + "'; sign exactly the bytes you upload with that publisher's private key");
        }
        if (storage.entry(d.id(), d.version()).isPresent()) {
            throw alreadyPublished(what);
        }
        // Only now, with the signature verified: nobody can claim an id for a publisher whose key they do not hold.
        claim(d, what);
        String sha256 = Signatures.sha256Hex(artifact);
        RegistryEntry entry = new RegistryEntry(d.id(), d.version(), d.symbolicName(), d.type(), d.displayName(),
                d.description(), d.publisher(), ch, false, null, d.apiImports(), d.apiRange(), d.permissions(), sha256,
                artifact.length, Base64.getEncoder().encodeToString(signature), Instant.now(clock));
        storage.putArtifact(d.id(), d.version(), sha256, artifact);
        boolean inserted;
        try {
            inserted = storage.insert(entry);
        } catch (RuntimeException e) {
            deleteQuietly(entry);
            throw e instanceof RegistryException re ? re
                    : new RegistryException(Reason.STORAGE, "recording " + what + " failed: " + e.getMessage(), e);
        }
        if (!inserted) {
            // Another publish of this version won the race. Its bytes live under its own digest; ours go, unless they
            // are the very same bytes (same digest, same file).
            boolean sameBytes = storage.entry(d.id(), d.version()).map(w -> w.sha256().equals(sha256)).orElse(false);
            if (!sameBytes) {
                deleteQuietly(entry);
            }
            throw alreadyPublished(what);
        }
        LOG.info("published plugin id={} version={} publisher={} channel={} sha256={} size={}", d.id(), d.version(),
                d.publisher(), ch, sha256, artifact.length);
        return entry;
    }

    @Override
    public RegistryEntry publishShipped(byte[] artifact) {
        if (artifact == null || artifact.length == 0) {
            throw new RegistryException(Reason.INVALID_PLUGIN, "not a jar: the shipped artifact is empty");
        }
        if (artifact.length > maxArtifactBytes) {
            throw tooLarge(artifact.length);
        }
        PluginDescriptor d = PluginDescriptors.read(artifact);
        String what = d.id() + " " + d.version();
        if (!DISTRIBUTION_PUBLISHER.equals(d.publisher())) {
            throw new RegistryException(Reason.INVALID_PLUGIN, "shipped plugin " + what + " names publisher '"
                    + d.publisher() + "'; plugins the server ships name '" + DISTRIBUTION_PUBLISHER + "'");
        }
        String sha256 = Signatures.sha256Hex(artifact);
        Optional<RegistryEntry> known = storage.entry(d.id(), d.version());
        if (known.isPresent()) {
            return sameOrConflict(known.get(), sha256);
        }
        claim(d, what);
        RegistryEntry entry = new RegistryEntry(d.id(), d.version(), d.symbolicName(), d.type(), d.displayName(),
                d.description(), d.publisher(), RegistryEntry.STABLE, false, null, d.apiImports(), d.apiRange(),
                d.permissions(), sha256, artifact.length, null, Instant.now(clock), RegistryEntry.DISTRIBUTION);
        storage.putArtifact(d.id(), d.version(), sha256, artifact);
        boolean inserted;
        try {
            inserted = storage.insert(entry);
        } catch (RuntimeException e) {
            deleteQuietly(entry);
            throw e instanceof RegistryException re ? re
                    : new RegistryException(Reason.STORAGE, "recording " + what + " failed: " + e.getMessage(), e);
        }
        if (!inserted) {
            // Another node seeded the same version meanwhile: the same bytes are the same file, other bytes go.
            RegistryEntry winner = storage.entry(d.id(), d.version()).orElseThrow(() -> new RegistryException(
                    Reason.STORAGE, "recording " + what + " failed: neither stored nor found"));
            if (!winner.sha256().equals(sha256)) {
                deleteQuietly(entry);
            }
            return sameOrConflict(winner, sha256);
        }
        LOG.info("published shipped plugin id={} version={} origin={} sha256={} size={}", d.id(), d.version(),
                RegistryEntry.DISTRIBUTION, sha256, artifact.length);
        return entry;
    }

    /**
     * Binds the id to the publisher that publishes it first, or refuses: an id belongs to its first publisher, so
     * another publisher cannot take over a plugin's users by publishing the same id at a higher version.
     */
    private void claim(PluginDescriptor d, String what) {
        String owner = storage.claimOwner(d.id(), d.publisher());
        if (!owner.equals(d.publisher())) {
            LOG.warn("refused plugin id of another publisher id={} version={} publisher={} owner={}", d.id(),
                    d.version(), d.publisher(), owner);
            throw new RegistryException(Reason.PLUGIN_ID_TAKEN, "plugin id '" + d.id() + "' belongs to publisher '"
                    + owner + "', who published it first; " + what + " names publisher '" + d.publisher()
                    + "' — publish under an id of your own");
        }
    }

    @Override
    public Optional<String> owner(String pluginId) {
        if (pluginId == null || !PluginDescriptors.ID.matcher(pluginId).matches()) {
            return Optional.empty();
        }
        return storage.owner(pluginId);
    }

    private static RegistryEntry sameOrConflict(RegistryEntry stored, String sha256) {
        if (stored.sha256().equals(sha256)) {
            return stored;
        }
        throw new RegistryException(Reason.SHIPPED_DIGEST_CONFLICT, "the registry holds " + stored.id() + " "
                + stored.version() + " (origin " + stored.origin() + ") with SHA-256 " + stored.sha256()
                + ", but this server ships that version with SHA-256 " + sha256
                + "; two different builds carry one version number");
    }

    @Override
    public List<RegistryEntry> entries() {
        List<RegistryEntry> all = new ArrayList<>(storage.entries());
        all.sort(BY_ID_THEN_NEWEST);
        return all;
    }

    @Override
    public List<RegistryEntry> versions(String pluginId) {
        return entries().stream().filter(e -> e.id().equals(pluginId)).toList();
    }

    @Override
    public Optional<RegistryEntry> entry(String pluginId, String version) {
        String v;
        try {
            v = PluginDescriptors.osgiVersion(version);
        } catch (RegistryException e) {
            return Optional.empty();
        }
        if (pluginId == null || !PluginDescriptors.ID.matcher(pluginId).matches()) {
            return Optional.empty();
        }
        return storage.entry(pluginId, v);
    }

    @Override
    public byte[] artifact(String pluginId, String version) {
        RegistryEntry entry = entry(pluginId, version).orElseThrow(() -> notFound(pluginId, version));
        byte[] bytes = storage.artifact(entry.id(), entry.version(), entry.sha256())
                .orElseThrow(() -> new RegistryException(Reason.STORAGE, "the artifact of " + entry.id() + " "
                        + entry.version() + " is missing from storage"));
        String actual = Signatures.sha256Hex(bytes);
        if (!actual.equals(entry.sha256())) {
            LOG.error("stored artifact does not match its digest id={} version={} expected={} actual={}", entry.id(),
                    entry.version(), entry.sha256(), actual);
            throw new RegistryException(Reason.DIGEST_MISMATCH, "the stored artifact of " + entry.id() + " "
                    + entry.version() + " does not match its recorded SHA-256; it was changed or corrupted in storage");
        }
        return bytes;
    }

    @Override
    public RegistryEntry yank(String pluginId, String version, String reason) {
        RegistryEntry e = entry(pluginId, version).orElseThrow(() -> notFound(pluginId, version));
        String why = reason == null || reason.isBlank() ? "" : reason.trim();
        RegistryEntry yanked = e.withStatus(e.channel(), true, why);
        storage.update(yanked);
        LOG.info("yanked plugin id={} version={} reason={}", e.id(), e.version(), why);
        return yanked;
    }

    @Override
    public List<Publisher> publishers() {
        List<Publisher> all = new ArrayList<>(storage.publishers());
        all.sort(Comparator.comparing(Publisher::id));
        return all;
    }

    @Override
    public Optional<Publisher> publisher(String publisherId) {
        return storage.publishers().stream().filter(p -> p.id().equals(publisherId)).findFirst();
    }

    @Override
    public Publisher addPublisher(String publisherId, String publicKeyBase64) {
        if (publisherId == null || !PluginDescriptors.ID.matcher(publisherId).matches()) {
            throw new IllegalArgumentException("publisher id '" + publisherId
                    + "' is not valid: use 1-100 characters of a-z, 0-9, '.', '_' or '-'");
        }
        if (DISTRIBUTION_PUBLISHER.equals(publisherId)) {
            throw reserved("publisher id '" + DISTRIBUTION_PUBLISHER + "' is reserved for the plugins the server "
                    + "ships; nobody can sign as the distribution — choose another id");
        }
        Signatures.checkPublicKey(publicKeyBase64);
        String key = publicKeyBase64.trim();
        Optional<Publisher> existing = publisher(publisherId);
        if (existing.isEmpty()) {
            Publisher added = new Publisher(publisherId, key, Instant.now(clock));
            if (storage.insertPublisher(added)) {
                LOG.info("added publisher id={}", publisherId);
                return added;
            }
            existing = publisher(publisherId);
        }
        Publisher known = existing.orElseThrow(() -> new RegistryException(Reason.STORAGE,
                "publisher '" + publisherId + "' could not be recorded"));
        if (!known.publicKey().equals(key)) {
            throw new RegistryException(Reason.ALREADY_PUBLISHED, "publisher '" + publisherId
                    + "' is already known with another key; keys cannot be replaced under published plugins");
        }
        return known;
    }

    @Override
    public String r5Index(String baseUrl) {
        List<R5Index.Item> items = new ArrayList<>();
        long increment = 0;
        for (RegistryEntry e : entries()) {
            if (e.yanked()) {
                continue;
            }
            Manifest manifest = manifests.get(e.sha256());
            if (manifest == null) {
                try {
                    manifest = manifestOf(artifact(e.id(), e.version()));
                } catch (RegistryException ex) {
                    // One damaged artifact must not hide every other plugin from the index.
                    LOG.warn("left out of the R5 index id={} version={} reason={}", e.id(), e.version(), ex.getMessage());
                    continue;
                }
                manifests.put(e.sha256(), manifest);
            }
            items.add(new R5Index.Item(e, manifest));
            increment = Math.max(increment, e.publishedAt().toEpochMilli());
        }
        return R5Index.xml(items, baseUrl, increment);
    }

    private static Manifest manifestOf(byte[] jar) {
        try (ZipInputStream zip = new ZipInputStream(new ByteArrayInputStream(jar))) {
            ZipEntry entry;
            while ((entry = zip.getNextEntry()) != null) {
                if ("META-INF/MANIFEST.MF".equalsIgnoreCase(entry.getName())) {
                    return new Manifest(zip);
                }
            }
        } catch (IOException e) {
            throw new RegistryException(Reason.STORAGE, "the stored artifact cannot be read: " + e.getMessage(), e);
        }
        throw new RegistryException(Reason.STORAGE, "the stored artifact has no manifest");
    }

    private void deleteQuietly(RegistryEntry entry) {
        try {
            storage.deleteArtifact(entry.id(), entry.version(), entry.sha256());
        } catch (RuntimeException e) {
            LOG.warn("could not delete an unrecorded artifact id={} version={} sha256={}", entry.id(), entry.version(),
                    entry.sha256(), e);
        }
    }

    private RegistryException tooLarge(long size) {
        return new RegistryException(Reason.TOO_LARGE, "the plugin jar is " + size
                + " bytes; this registry accepts at most " + maxArtifactBytes + " bytes");
    }

    private static RegistryException reserved(String message) {
        return new RegistryException(Reason.RESERVED_PUBLISHER, message);
    }

    private static RegistryException alreadyPublished(String what) {
        return new RegistryException(Reason.ALREADY_PUBLISHED,
                what + " is already published; versions are immutable — publish a new version");
    }

    private static RegistryException notFound(String id, String version) {
        return new RegistryException(Reason.NOT_FOUND, "no plugin " + id + " version " + version + " in this registry");
    }
}
