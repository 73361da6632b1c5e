package dev.parley.registry.s3.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.AttributeType;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

@ObjectClassDefinition(name = "Parley plugin registry: S3 storage",
        description = "Production storage for the plugin registry: metadata in the Parley database, plugin jars in "
                + "an S3-compatible object store (AWS S3, MinIO, Ceph, Garage, ...).")
public @interface S3StorageConfig {
    /** The configuration PID; without a configuration the component does not start. */
    String PID = "dev.parley.registry.s3";

    @AttributeDefinition(name = "Endpoint",
            description = "Base URL of the S3 API, e.g. http://127.0.0.1:9000 or https://s3.eu-west-1.amazonaws.com.")
    String endpoint();

    @AttributeDefinition(name = "Region", description = "Signing region; most S3-compatible servers accept us-east-1.")
    String region() default "us-east-1";

    @AttributeDefinition(name = "Bucket", description = "The bucket that holds the plugin jars; it must exist.")
    String bucket();

    @AttributeDefinition(name = "Access key", description = "Access key id.")
    String accessKey();

    // Keys starting with a dot are never published as service properties: the method _secretKey is ".secretKey".
    @AttributeDefinition(name = "Secret key", type = AttributeType.PASSWORD,
            description = "Secret access key (configuration key \".secretKey\").")
    String _secretKey();

    @AttributeDefinition(name = "Path-style addressing",
            description = "http://endpoint/bucket/key (most self-hosted servers) rather than http://bucket.endpoint/key.")
    boolean pathStyle() default true;

    @AttributeDefinition(name = "Key prefix",
            description = "Prefix of every object key; a jar is stored at <prefix><id>/<version>/<sha256>.jar.",
            required = false)
    String prefix() default "plugins/";

    @AttributeDefinition(name = "Connect timeout", description = "Milliseconds to wait for a connection.", min = "100")
    int connectTimeoutMs() default 5000;

    @AttributeDefinition(name = "Socket timeout", description = "Milliseconds to wait for data on a connection.",
            min = "100")
    int socketTimeoutMs() default 30000;
}
