package dev.parley.api.stream;

import java.util.Objects;

/**
 * One entry of a stream's log: its position ({@code seq}, from 1, without gaps), what it is ({@code type}, the
 * writer's word) and its content ({@code data}, the writer's encoding; may be empty).
 */
public record StreamEntry(long seq, String type, String data) {
    public StreamEntry {
        if (seq < 1) {
            throw new IllegalArgumentException("seq starts at 1: " + seq);
        }
        Objects.requireNonNull(type, "type");
        data = data == null ? "" : data;
    }
}
