/**
 * Parley's one error model, mapped at each edge to HTTP problems, WebSocket frames or OpenAI errors. 1.2: {@code provider-permission},
 * {@code overloaded}, {@code context-too-long}, {@code content-filtered}. 1.3: {@code ParleyException.param()}, the
 * request field an error is about.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.4.0")
package dev.parley.api.error;
