package dev.parley.web.rest.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * Which peers are proxies whose {@code X-Forwarded-For} tells the client's address. Empty (the default): the client's
 * address is the peer the server saw, and the header is ignored, since anyone can send it.
 */
@ObjectClassDefinition(name = "Parley trusted proxies", description = "Reverse proxies and load balancers in front of "
        + "Parley whose X-Forwarded-For names the client. The client's address (sign-in limits, the audit trail, logs) "
        + "is the rightmost address of X-Forwarded-For that is not a trusted proxy, when the peer is one.")
@interface TrustedProxiesConfig {
    String PID = "dev.parley.web.proxies";

    @AttributeDefinition(name = "Trusted proxies", required = false, description = "Addresses and networks of the "
            + "proxies, e.g. 10.0.0.0/8, 192.168.1.7, fd00::/8 (PARLEY_TRUSTED_PROXIES, comma-separated). Only "
            + "address literals; a name is refused.")
    String[] trustedProxies() default {};
}
