/** Chat conversations, messages and the chat service web front ends call. */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package dev.parley.api.chat;
