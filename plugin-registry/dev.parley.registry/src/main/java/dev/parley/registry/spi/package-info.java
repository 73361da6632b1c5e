/** Where the registry keeps metadata and artifacts: a local directory by default, PostgreSQL + S3 in production. */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.1.0")
package dev.parley.registry.spi;
