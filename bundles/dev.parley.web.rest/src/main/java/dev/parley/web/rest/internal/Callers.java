package dev.parley.web.rest.internal;

import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.identity.Principal;
import jakarta.servlet.http.HttpServletRequest;

/** Who a request is from: the principal the edge verified, or a refusal when there is none (fail closed). */
final class Callers {
    private Callers() {
    }

    static Principal of(HttpServletRequest request) {
        if (request != null && request.getAttribute(Principal.REQUEST_ATTRIBUTE) instanceof Principal p) {
            return p;
        }
        throw new ParleyException(ErrorCode.UNAUTHORIZED, "This route needs a verified credential.");
    }
}
