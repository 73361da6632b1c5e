/**
 * Persistence of conversations and messages. 1.1: {@code appendAll} appends several messages in one transaction.
 * 1.2: {@code finish} with the model that answered. 2.0: every conversation in one tenant. 2.1: conversations have an
 * owner, and a tenant's view narrows to one owner's ({@code TenantConversations.owner}). 2.2: {@code interruptIfStreaming}, an answer whose
 * producing node is gone ended by another node.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("2.2.0")
package dev.parley.api.store;
