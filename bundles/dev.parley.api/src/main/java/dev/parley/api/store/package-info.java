/**
 * Persistence of conversations and messages. 1.1: {@code appendAll} appends several messages in one transaction.
 * 1.2: {@code finish} with the model that answered.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("2.0.0")
package dev.parley.api.store;
