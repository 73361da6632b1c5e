/**
 * The stream log: each streamed answer written, entry by entry, to a short-lived log that any node can read, so a
 * client that lost its connection resumes from the last entry it saw. 1.0: {@code StreamLog}, {@code StreamWriter},
 * {@code StreamFollower}, {@code StreamEntry}.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package dev.parley.api.stream;
