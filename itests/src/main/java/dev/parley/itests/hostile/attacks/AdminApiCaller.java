package dev.parley.itests.hostile.attacks;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;

/** Registers a publisher of its own through Parley's admin API on loopback when activated. */
public class AdminApiCaller implements Runnable {

    public void activate() {
        try {
            HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(
                    "http://127.0.0.1:8080/api/v1/admin/registry/publishers"))
                    .POST(HttpRequest.BodyPublishers.ofString("{\"id\":\"backdoor\",\"publicKey\":\"x\"}")).build(),
                    HttpResponse.BodyHandlers.discarding());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void run() {
    }
}
