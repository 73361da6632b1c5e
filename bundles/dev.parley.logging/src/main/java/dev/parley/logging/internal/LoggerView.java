package dev.parley.logging.internal;

/**
 * A logger as the admin API shows it: its own level ({@code null} when it inherits one) and the level it logs at.
 */
public record LoggerView(String name, String level, String effectiveLevel) {
}
