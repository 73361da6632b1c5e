package dev.parley.server;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.Stream;

/** Splits a text/event-stream body into events, as an EventSource would. */
final class Sse {
    record Event(String name, String data) {
    }

    private Sse() {
    }

    static List<Event> read(Stream<String> lines, Consumer<Event> onEach) {
        var events = new ArrayList<Event>();
        String name = "message";
        var data = new StringBuilder();
        for (var it = lines.iterator(); it.hasNext();) {
            String line = it.next();
            if (line.isEmpty()) {
                if (data.length() > 0) {
                    var e = new Event(name, data.toString());
                    events.add(e);
                    onEach.accept(e);
                }
                name = "message";
                data.setLength(0);
            } else if (line.startsWith("event:")) {
                name = line.substring(6).trim();
            } else if (line.startsWith("data:")) {
                if (data.length() > 0) {
                    data.append('\n');
                }
                data.append(line.substring(5).stripLeading());
            }
        }
        return events;
    }
}
