package dev.parley.identity.oidc.internal;

import com.nimbusds.jose.KeySourceException;

/** The issuer's discovery document or keys could not be had (and no keys fetched earlier are at hand). */
final class IssuerUnreachableException extends KeySourceException {
    private static final long serialVersionUID = 1L;

    IssuerUnreachableException(String message) {
        super(message);
    }
}
