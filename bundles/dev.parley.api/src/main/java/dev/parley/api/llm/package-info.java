/** The model provider SPI: requests, streaming callbacks, usage and model descriptors. */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package dev.parley.api.llm;
