package dev.parley.registry.s3.internal;

import dev.parley.db.Database;
import dev.parley.registry.Publisher;
import dev.parley.registry.RegistryEntry;
import dev.parley.registry.RegistryException;
import dev.parley.registry.RegistryException.Reason;
import dev.parley.registry.spi.RegistryStorage;
import java.net.URI;
import java.net.URISyntaxException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.metatype.annotations.Designate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * The registry's production storage: metadata in Parley's {@link Database}, plugin jars in an S3-compatible bucket.
 * Starts only when configured (PID {@value S3StorageConfig#PID}).
 */
@Component(name = S3StorageConfig.PID, configurationPid = S3StorageConfig.PID,
        configurationPolicy = ConfigurationPolicy.REQUIRE, service = RegistryStorage.class,
        property = RegistryStorage.KIND_PROPERTY + "=s3")
@Designate(ocd = S3StorageConfig.class)
public final class S3RegistryStorage implements RegistryStorage {
    private static final Logger LOG = LoggerFactory.getLogger(S3RegistryStorage.class);

    private final S3Client s3;
    private final S3Artifacts artifacts;
    private final RegistryMetadata metadata;

    @Activate
    public S3RegistryStorage(S3StorageConfig config, @Reference Database database) {
        URI endpoint = endpoint(config.endpoint());
        String bucket = required("bucket", config.bucket());
        String accessKey = required("accessKey", config.accessKey());
        String secretKey = required(".secretKey", config._secretKey());
        String prefix = config.prefix() == null ? "" : config.prefix().strip().replaceFirst("^/+", "");
        // Tables first: a database that cannot be migrated leaves no S3 client behind.
        this.metadata = new RegistryMetadata(database);
        this.s3 = client(config, endpoint, accessKey, secretKey);
        this.artifacts = new S3Artifacts(s3, endpoint, bucket, prefix);
        LOG.info("Registry S3 storage ready endpoint={} bucket={} prefix={} pathStyle={}", endpoint, bucket, prefix,
                config.pathStyle());
    }

    private S3Client client(S3StorageConfig config, URI endpoint, String accessKey, String secretKey) {
        // The SDK looks some classes and resources up through the thread context class loader; inside a framework
        // that is not this bundle's, so construction runs with it set to the loader that holds the embedded SDK.
        Thread thread = Thread.currentThread();
        ClassLoader previous = thread.getContextClassLoader();
        thread.setContextClassLoader(S3RegistryStorage.class.getClassLoader());
        try {
            return S3Client.builder()
                    .endpointOverride(endpoint)
                    .region(Region.of(config.region() == null || config.region().isBlank() ? "us-east-1"
                            : config.region().strip()))
                    .credentialsProvider(StaticCredentialsProvider.create(
                            AwsBasicCredentials.create(accessKey, secretKey)))
                    .forcePathStyle(config.pathStyle())
                    // Passed explicitly: the SDK's ServiceLoader lookup of HTTP clients cannot see across bundles.
                    .httpClientBuilder(UrlConnectionHttpClient.builder()
                            .connectionTimeout(Duration.ofMillis(Math.max(100, config.connectTimeoutMs())))
                            .socketTimeout(Duration.ofMillis(Math.max(100, config.socketTimeoutMs()))))
                    // Checksums only where S3 requires them: many S3-compatible servers reject the newer
                    // trailing-checksum uploads. Integrity is the registry's SHA-256, checked on every install.
                    .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                    .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED)
                    .build();
        } finally {
            thread.setContextClassLoader(previous);
        }
    }

    @Deactivate
    void deactivate() {
        s3.close();
        LOG.info("Registry S3 storage closed");
    }

    /** Checks that the bucket exists and the credentials are accepted. */
    void checkBucket() {
        artifacts.checkBucket();
    }

    @Override
    public void putArtifact(String pluginId, String version, String sha256, byte[] artifact) {
        if (artifact == null) {
            throw new IllegalArgumentException("No artifact bytes");
        }
        // The key claims a digest: never let bytes sit under a digest that is not theirs.
        String actual = sha256Hex(artifact);
        if (!actual.equals(sha256)) {
            throw new RegistryException(Reason.DIGEST_MISMATCH, "Artifact of " + pluginId + " " + version
                    + " has SHA-256 " + actual + ", not " + sha256);
        }
        artifacts.put(pluginId, version, sha256, artifact);
    }

    @Override
    public Optional<byte[]> artifact(String pluginId, String version, String sha256) {
        return artifacts.get(pluginId, version, sha256);
    }

    @Override
    public void deleteArtifact(String pluginId, String version, String sha256) {
        artifacts.delete(pluginId, version, sha256);
    }

    @Override
    public boolean insert(RegistryEntry entry) {
        return metadata.insert(entry);
    }

    @Override
    public void update(RegistryEntry entry) {
        metadata.update(entry);
    }

    @Override
    public List<RegistryEntry> entries() {
        return metadata.entries();
    }

    @Override
    public Optional<RegistryEntry> entry(String pluginId, String version) {
        return metadata.entry(pluginId, version);
    }

    @Override
    public boolean insertPublisher(Publisher publisher) {
        return metadata.insertPublisher(publisher);
    }

    @Override
    public List<Publisher> publishers() {
        return metadata.publishers();
    }

    @Override
    public String claimOwner(String pluginId, String publisher) {
        return metadata.claimOwner(pluginId, publisher);
    }

    @Override
    public Optional<String> owner(String pluginId) {
        return metadata.owner(pluginId);
    }

    private static URI endpoint(String value) {
        String text = required("endpoint", value);
        try {
            URI uri = new URI(text);
            if (uri.getUserInfo() != null) {
                throw new IllegalArgumentException("Registry S3 storage: put credentials in accessKey/.secretKey, "
                        + "not in the endpoint URL");
            }
            if (!("http".equals(uri.getScheme()) || "https".equals(uri.getScheme())) || uri.getHost() == null) {
                throw new IllegalArgumentException("Registry S3 storage: endpoint must be an http:// or https:// URL "
                        + "with a host, not '" + text + "'");
            }
            return uri;
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("Registry S3 storage: endpoint is not a URL: " + e.getReason(), e);
        }
    }

    private static String required(String key, String value) {
        if (value == null || value.isBlank()) {
            throw new IllegalArgumentException("Registry S3 storage: configuration key '" + key + "' is required");
        }
        return value.strip();
    }

    private static String sha256Hex(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every JVM", e);
        }
    }
}
