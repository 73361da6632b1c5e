package dev.parley.api.chat;

/** Who wrote a message. */
public enum Role {
    SYSTEM, USER, ASSISTANT, TOOL
}
