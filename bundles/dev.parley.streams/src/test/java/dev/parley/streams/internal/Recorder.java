package dev.parley.streams.internal;

import dev.parley.api.stream.StreamEntry;
import dev.parley.api.stream.StreamFollower;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** A follower that writes down what it gets, for the tests to wait on. */
final class Recorder implements StreamFollower {
    final List<StreamEntry> entries = new CopyOnWriteArrayList<>();
    volatile String end;

    @Override
    public void onEntry(StreamEntry entry) {
        if (end != null) {
            throw new AssertionError("entry after the end: " + entry);
        }
        entries.add(entry);
    }

    @Override
    public void onEnd() {
        ended("end");
    }

    @Override
    public void onProducerGone(String reason) {
        ended("gone: " + reason);
    }

    @Override
    public void onNotFound() {
        ended("not found");
    }

    @Override
    public void onFailure(String message) {
        ended("failure: " + message);
    }

    private void ended(String how) {
        if (end != null) {
            throw new AssertionError("a second end: " + how + " after " + end);
        }
        end = how;
    }

    List<String> data() {
        return entries.stream().map(StreamEntry::data).toList();
    }

    List<Long> seqs() {
        return entries.stream().map(StreamEntry::seq).toList();
    }
}
