/** Persistence of conversations and messages. 1.1: {@code appendAll} appends several messages in one transaction. */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.1.0")
package dev.parley.api.store;
