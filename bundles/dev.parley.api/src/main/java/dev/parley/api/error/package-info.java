/** Parley's one error model, mapped at each edge to HTTP problems, WebSocket frames or OpenAI errors. */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.1.0")
package dev.parley.api.error;
