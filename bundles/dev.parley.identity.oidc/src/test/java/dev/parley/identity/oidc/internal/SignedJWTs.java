package dev.parley.identity.oidc.internal;

import com.nimbusds.jwt.SignedJWT;
import java.text.ParseException;

final class SignedJWTs {
    private SignedJWTs() {
    }

    static String kid(String token) {
        try {
            return SignedJWT.parse(token).getHeader().getKeyID();
        } catch (ParseException e) {
            throw new IllegalStateException(e);
        }
    }
}
