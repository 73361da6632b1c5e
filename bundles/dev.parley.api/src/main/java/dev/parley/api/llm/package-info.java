/**
 * The model provider SPI: requests, streaming callbacks, usage and model descriptors. 1.1:
 * {@code ChatModelProvider.complete} (an answer wanted whole, in one upstream call where the provider can; the default
 * streams) and {@code StreamHandle} is a consumer type (plugins implement it). 1.2: content parts (images), tool
 * choice and response format in {@code ChatOptions}, cached prompt tokens in {@code Usage}, model capabilities. 1.3: tool calls streamed piece by piece
 * ({@code ToolCallDelta}, {@code ChatStreamHandler.onToolCallDelta}) and the answering model before the first token
 * ({@code ChatStreamHandler.onAnsweringModel}).
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.4.0")
package dev.parley.api.llm;
