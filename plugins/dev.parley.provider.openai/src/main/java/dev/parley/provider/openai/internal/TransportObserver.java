package dev.parley.provider.openai.internal;

/** What the HTTP transport tells the stream it serves: how to abort it, and that bytes are arriving. */
interface TransportObserver {
    /** Called once the request is on its way; {@code abort} closes the connection. */
    void attach(Runnable abort);

    /** Called for every batch of body bytes received. */
    void activity();
}
