package dev.parley.sandbox;

/** A policy that cannot be used as it is, with a reason an admin can act on (the admin API answers 400). */
public class PolicyException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public PolicyException(String message) {
        super(message);
    }

    public PolicyException(String message, Throwable cause) {
        super(message, cause);
    }
}
