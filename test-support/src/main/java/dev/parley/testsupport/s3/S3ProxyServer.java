package dev.parley.testsupport.s3;

import java.net.URI;
import org.gaul.s3proxy.AuthenticationType;
import org.gaul.s3proxy.S3Proxy;
import org.jclouds.ContextBuilder;
import org.jclouds.blobstore.BlobStore;
import org.jclouds.blobstore.BlobStoreContext;

/**
 * A real S3-compatible server (S3Proxy over jclouds' in-memory "transient" blob store) on an ephemeral loopback
 * port, checking AWS signatures (V2 or V4) against one access key and secret.
 *
 * <p>S3Proxy is an optional dependency of this module, so the fixtures' other users do not inherit it: a module
 * that uses this class declares {@code org.gaul:s3proxy} and {@code jakarta.servlet:jakarta.servlet-api} (test
 * scope) itself.
 */
public final class S3ProxyServer implements AutoCloseable {
    public static final String ACCESS_KEY = "parley-test-access";
    public static final String SECRET_KEY = "parley-test-secret-0123456789";

    private final BlobStoreContext context;
    private final S3Proxy proxy;
    private final URI endpoint;

    public S3ProxyServer() throws Exception {
        context = ContextBuilder.newBuilder("transient").credentials(ACCESS_KEY, SECRET_KEY)
                .build(BlobStoreContext.class);
        proxy = S3Proxy.builder().blobStore(context.getBlobStore())
                .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, ACCESS_KEY, SECRET_KEY)
                .endpoint(URI.create("http://127.0.0.1:0")).build();
        try {
            // Jetty's start() returns once the connector is bound; getPort() then reports the ephemeral port.
            proxy.start();
        } catch (Exception e) {
            context.close();
            throw e;
        }
        endpoint = URI.create("http://127.0.0.1:" + proxy.getPort());
    }

    public URI endpoint() {
        return endpoint;
    }

    /** Direct access to the stored objects, past the S3 API, to check what the storage wrote. */
    public BlobStore blobs() {
        return context.getBlobStore();
    }

    public void createBucket(String name) {
        blobs().createContainerInLocation(null, name);
    }

    @Override
    public void close() throws Exception {
        try {
            proxy.stop();
        } finally {
            context.close();
        }
    }
}
