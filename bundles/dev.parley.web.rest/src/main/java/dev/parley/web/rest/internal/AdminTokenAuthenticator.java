package dev.parley.web.rest.internal;

import dev.parley.api.identity.AuthMethod;
import dev.parley.api.identity.BearerAuthenticator;
import dev.parley.api.identity.Principal;
import dev.parley.api.identity.Role;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Set;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;

/**
 * The break-glass credential: the one shared admin token ({@code PARLEY_ADMIN_TOKEN}, or generated into the data
 * directory's {@code admin-token} file), acting as an owner of the operator tenant. It is there for when sign-in
 * itself is broken (a lost owner password, an OIDC issuer that is down); everyday work uses accounts and API keys.
 * Set the admin token setting to {@code disabled} to turn it off.
 */
@Component(service = BearerAuthenticator.class, configurationPid = RestConfig.PID,
        configurationPolicy = ConfigurationPolicy.OPTIONAL, property = "service.ranking:Integer=100")
public class AdminTokenAuthenticator implements BearerAuthenticator {
    /** The subject its principal has, and the actor the audit trail names. */
    static final String SUBJECT = "admin-token";
    static final String DISABLED = "disabled";

    private final byte[] token;
    private final Principal principal = new Principal(SUBJECT, Principal.OPERATOR_TENANT, Set.of(Role.OWNER),
            AuthMethod.ADMIN_TOKEN, "parley", Set.of(), null, SUBJECT);

    @Activate
    public AdminTokenAuthenticator(RestConfig config) {
        this(config._adminToken());
    }

    public AdminTokenAuthenticator(String token) {
        String t = token == null ? "" : token.strip();
        this.token = t.isEmpty() || t.equalsIgnoreCase(DISABLED) ? null : t.getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public boolean recognizes(String credential) {
        return token != null && MessageDigest.isEqual(credential.getBytes(StandardCharsets.UTF_8), token);
    }

    @Override
    public Principal authenticate(String credential) {
        return principal;
    }
}
