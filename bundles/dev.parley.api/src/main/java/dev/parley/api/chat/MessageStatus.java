package dev.parley.api.chat;

/** Where a stored message stands. */
public enum MessageStatus {
    /** Written in full (every user message; an assistant answer that ended normally). */
    COMPLETE,
    /** An assistant answer still being streamed. */
    STREAMING,
    /** An assistant answer cut short: the client left, cancelled, or the provider failed. Holds what arrived. */
    INTERRUPTED
}
