package dev.parley.server;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * One Server-Sent Events response read as it arrives, with each event's {@code id:}: what a client that resumes
 * needs. {@link #ended} completes when the response ends (cleanly, or cut by a dead node); {@link #abort} drops the
 * connection as a client that goes away does.
 */
final class EventStream implements AutoCloseable {
    record Event(long id, String name, String data) {
    }

    final HttpResponse<InputStream> response;
    final List<Event> events = new CopyOnWriteArrayList<>();
    final CompletableFuture<Void> ended = new CompletableFuture<>();
    private final InputStream body;

    private EventStream(HttpResponse<InputStream> response, Consumer<Event> onEach) {
        this.response = response;
        this.body = response.body();
        Thread reader = new Thread(() -> read(onEach), "sse-reader");
        reader.setDaemon(true);
        reader.start();
    }

    static EventStream open(HttpClient http, HttpRequest request, Consumer<Event> onEach)
            throws IOException, InterruptedException {
        return new EventStream(http.send(request, HttpResponse.BodyHandlers.ofInputStream()), onEach);
    }

    private void read(Consumer<Event> onEach) {
        try (var lines = new BufferedReader(new InputStreamReader(body, StandardCharsets.UTF_8))) {
            long id = -1;
            String name = "message";
            StringBuilder data = new StringBuilder();
            String line;
            while ((line = lines.readLine()) != null) {
                if (line.isEmpty()) {
                    if (data.length() > 0) {
                        Event e = new Event(id, name, data.toString());
                        events.add(e);
                        onEach.accept(e);
                    }
                    id = -1;
                    name = "message";
                    data.setLength(0);
                } else if (line.startsWith("id:")) {
                    id = Long.parseLong(line.substring(3).trim());
                } else if (line.startsWith("event:")) {
                    name = line.substring(6).trim();
                } else if (line.startsWith("data:")) {
                    data.append(line.substring(5).stripLeading());
                }
            }
            ended.complete(null);
        } catch (IOException e) {
            // A cut connection: what arrived is in events.
            ended.complete(null);
        } catch (RuntimeException e) {
            ended.completeExceptionally(e);
        }
    }

    long lastId() {
        return events.isEmpty() ? 0 : events.get(events.size() - 1).id();
    }

    String last() {
        return events.isEmpty() ? null : events.get(events.size() - 1).name();
    }

    void abort() throws IOException {
        body.close();
    }

    @Override
    public void close() throws IOException {
        abort();
    }
}
