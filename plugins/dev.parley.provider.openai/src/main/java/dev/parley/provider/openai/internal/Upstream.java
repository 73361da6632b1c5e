package dev.parley.provider.openai.internal;

import java.net.URI;
import java.net.http.HttpClient;

/** How Parley talks HTTP to an OpenAI-compatible server. */
final class Upstream {

    private Upstream() {
    }

    /**
     * HTTP/2 over TLS, where the server offers it through ALPN (the JDK falls back to HTTP/1.1 when it does not):
     * one connection then carries many concurrent streams. HTTP/1.1 on cleartext, always: asking the JDK for
     * HTTP/2 there makes it send an {@code Upgrade: h2c} request, which proxies and servers such as vLLM's or
     * Ollama's ignore at best and mishandle at worst, and which buys nothing on loopback or in-cluster links.
     */
    static HttpClient.Version httpVersion(URI uri) {
        return "https".equalsIgnoreCase(uri.getScheme()) ? HttpClient.Version.HTTP_2 : HttpClient.Version.HTTP_1_1;
    }
}
