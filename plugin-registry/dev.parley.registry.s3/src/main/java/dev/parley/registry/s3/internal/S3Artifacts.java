package dev.parley.registry.s3.internal;

import dev.parley.registry.RegistryException;
import dev.parley.registry.RegistryException.Reason;
import java.net.URI;
import java.util.Optional;
import java.util.regex.Pattern;
import software.amazon.awssdk.awscore.exception.AwsServiceException;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.NoSuchBucketException;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;

/**
 * Plugin jars as objects under {@code <prefix><id>/<version>/<sha256>.jar}. Keying by digest means two racing
 * publishes of one version write different objects; the metadata insert decides which one stays.
 *
 * <p>Every failure becomes a {@link RegistryException} with reason {@code STORAGE} whose message names the endpoint
 * and bucket and what to check; the secret key never appears in it (the client does not put it in its messages, and
 * this class never sees it).
 */
final class S3Artifacts {
    /** Plugin ids and OSGi versions use these characters only; anything else could escape the key layout. */
    private static final Pattern KEY_PART = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,199}");
    private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");

    private final S3Client s3;
    private final URI endpoint;
    private final String bucket;
    private final String prefix;

    S3Artifacts(S3Client s3, URI endpoint, String bucket, String prefix) {
        this.s3 = s3;
        this.endpoint = endpoint;
        this.bucket = bucket;
        this.prefix = prefix;
    }

    /** The object key of an artifact; refuses parts that could leave the layout ("..", "/", ...). */
    String key(String pluginId, String version, String sha256) {
        check("plugin id", pluginId, KEY_PART);
        check("version", version, KEY_PART);
        check("sha256", sha256, SHA256);
        if (pluginId.contains("..") || version.contains("..")) {
            throw new RegistryException(Reason.INVALID_PLUGIN, "plugin id and version must not contain '..'");
        }
        return prefix + pluginId + "/" + version + "/" + sha256 + ".jar";
    }

    void put(String pluginId, String version, String sha256, byte[] artifact) {
        String key = key(pluginId, version, sha256);
        call("store " + key, () -> s3.putObject(b -> b.bucket(bucket).key(key).contentType("application/java-archive"),
                RequestBody.fromBytes(artifact)));
    }

    Optional<byte[]> get(String pluginId, String version, String sha256) {
        String key = key(pluginId, version, sha256);
        return call("read " + key, () -> {
            try {
                return Optional.of(s3.getObjectAsBytes(b -> b.bucket(bucket).key(key)).asByteArrayUnsafe());
            } catch (NoSuchKeyException e) {
                return Optional.empty();
            }
        });
    }

    /** Deleting an object that is not there is not an error (S3 semantics, and what a cleanup after a lost race needs). */
    void delete(String pluginId, String version, String sha256) {
        String key = key(pluginId, version, sha256);
        call("delete " + key, () -> s3.deleteObject(b -> b.bucket(bucket).key(key)));
    }

    /** Fails with the same clear errors as the other operations when the bucket is missing or access is refused. */
    void checkBucket() {
        call("check the bucket", () -> s3.headBucket(b -> b.bucket(bucket)));
    }

    private <T> T call(String action, java.util.function.Supplier<T> operation) {
        try {
            return operation.get();
        } catch (SdkException e) {
            throw translate(action, e);
        }
    }

    private RegistryException translate(String action, SdkException e) {
        String where = "S3 endpoint " + endpoint + ", bucket '" + bucket + "'";
        if (e instanceof AwsServiceException service) {
            int status = service.statusCode();
            String code = service.awsErrorDetails() == null ? null : service.awsErrorDetails().errorCode();
            if (e instanceof NoSuchBucketException || "NoSuchBucket".equals(code)
                    || (status == 404 && action.startsWith("check"))) {
                return new RegistryException(Reason.STORAGE, "Plugin storage: the bucket does not exist (" + where
                        + "); create it or configure another bucket", e);
            }
            if (status == 401 || status == 403) {
                return new RegistryException(Reason.STORAGE, "Plugin storage: access refused" + detail(code, status)
                        + " (" + where + "); check the access key and secret key and the bucket's permissions", e);
            }
            return new RegistryException(Reason.STORAGE, "Plugin storage: cannot " + action + detail(code, status)
                    + " (" + where + ")", e);
        }
        if (e instanceof SdkClientException) {
            return new RegistryException(Reason.STORAGE, "Plugin storage: cannot reach or talk to the " + where
                    + " to " + action + ": " + e.getMessage(), e);
        }
        return new RegistryException(Reason.STORAGE, "Plugin storage: cannot " + action + " (" + where + ")", e);
    }

    private static String detail(String code, int status) {
        return ": HTTP " + status + (code == null || code.isBlank() ? "" : " " + code);
    }

    private static void check(String what, String value, Pattern pattern) {
        if (value == null || !pattern.matcher(value).matches()) {
            throw new RegistryException(Reason.INVALID_PLUGIN, "Not a valid " + what + " for the plugin storage: "
                    + (value == null ? "none" : "'" + value + "'"));
        }
    }
}
