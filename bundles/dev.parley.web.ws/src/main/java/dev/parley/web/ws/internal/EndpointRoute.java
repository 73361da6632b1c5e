package dev.parley.web.ws.internal;

/**
 * Where the registered endpoint sends new connections: the {@link SocketBinding} of the component activation
 * that is current, or none while the component is down. The container keeps the endpoint registration (and so
 * this route) longer than one activation, so activations re-point it instead of registering anew.
 */
final class EndpointRoute {
    private volatile SocketBinding binding;

    void bind(SocketBinding newBinding) {
        binding = newBinding;
    }

    /** Unbinds {@code old} unless a newer activation has taken over already. */
    synchronized void unbind(SocketBinding old) {
        if (binding == old) {
            binding = null;
        }
    }

    /** @return the current binding, or null when no activation is bound */
    SocketBinding current() {
        return binding;
    }
}
