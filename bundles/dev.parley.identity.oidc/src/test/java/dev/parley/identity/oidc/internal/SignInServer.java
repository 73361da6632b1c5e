package dev.parley.identity.oidc.internal;

import dev.parley.api.audit.AuditEvent;
import dev.parley.api.audit.AuditLog;
import dev.parley.api.identity.Principal;
import dev.parley.api.identity.Role;
import dev.parley.api.secrets.SecretSealer;
import dev.parley.db.internal.PooledDatabase;
import dev.parley.secrets.internal.AesGcmSecretSealer;
import dev.parley.secrets.internal.SecretsConfig;
import dev.parley.web.rest.internal.EdgeAuthFilter;
import dev.parley.web.rest.internal.ParleyRestFeature;
import dev.parley.web.rest.internal.RestConfig;
import jakarta.servlet.DispatcherType;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import java.lang.annotation.Annotation;
import java.lang.reflect.Proxy;
import java.net.URI;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import org.eclipse.jetty.ee10.servlet.FilterHolder;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.glassfish.jersey.server.ResourceConfig;
import org.glassfish.jersey.server.ServerProperties;
import org.glassfish.jersey.servlet.ServletContainer;

/**
 * Parley's HTTP front as the runtime assembles it for these routes, over real loopback HTTP: the real edge filter
 * (with the OIDC authenticator registered) in front of Jersey with the REST bundle's JSON and error mapping feature,
 * the sign-in resource on H2 and the real sealer, and a protected route that answers who the caller is.
 */
final class SignInServer implements AutoCloseable {
    /** A protected route (models:read at the edge) that shows the principal the edge verified. */
    @Path("/api/v1/models")
    @Produces(MediaType.APPLICATION_JSON)
    public static final class WhoAmI {
        @GET
        public Map<String, Object> get(@Context HttpServletRequest request) {
            Principal p = (Principal) request.getAttribute(Principal.REQUEST_ATTRIBUTE);
            return Map.of("subject", p.subject(), "tenant", p.tenantId(),
                    "roles", p.roles().stream().map(Role::slug).sorted().toList(), "method", p.method().name());
        }
    }

    /** Every audit event, in order. */
    static final class Audits implements AuditLog {
        final List<AuditEvent> events = new CopyOnWriteArrayList<>();

        @Override
        public void record(AuditEvent event) {
            events.add(event);
        }
    }

    // Jersey warns that resource instances are "not providers"; they are registered as resources all the same.
    private static final java.util.logging.Logger QUIET = java.util.logging.Logger.getLogger(
            "org.glassfish.jersey.internal.inject.Providers");

    static {
        QUIET.setLevel(java.util.logging.Level.SEVERE);
    }

    final PooledDatabase database = new PooledDatabase("jdbc:h2:mem:" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1",
            "", "", 4, 5000);
    final SecretSealer sealer = sealer();
    final PendingLogins pending = new PendingLogins(database);
    final OidcSignInResource resource;
    final Audits audits = new Audits();
    final EdgeAuthFilter edge = new EdgeAuthFilter();
    final URI base;
    private final Server server = new Server();

    SignInServer(TestConfig.MovableClock clock) {
        resource = new OidcSignInResource(pending, sealer, clock);
        resource.audit = audits;
        ResourceConfig config = new ResourceConfig()
                .property(ServerProperties.WADL_FEATURE_DISABLE, true)
                .register(new ParleyRestFeature(restConfig()))
                .register(resource)
                .register(new WhoAmI());
        ServerConnector connector = new ServerConnector(server);
        connector.setHost("127.0.0.1");
        server.addConnector(connector);
        ServletContextHandler context = new ServletContextHandler();
        context.addFilter(new FilterHolder(edge), "/*", EnumSet.of(DispatcherType.REQUEST));
        context.addServlet(new ServletHolder(new ServletContainer(config)), "/*");
        server.setHandler(context);
        try {
            server.start();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        base = URI.create("http://127.0.0.1:" + connector.getLocalPort());
    }

    /** Registers an issuer as DS would: with the edge (bearer tokens) and with the sign-in resource. */
    void add(OidcBearerAuthenticator issuer) {
        edge.addAuthenticator(issuer);
        resource.addIssuer(issuer);
    }

    void remove(OidcBearerAuthenticator issuer) {
        edge.removeAuthenticator(issuer);
        resource.removeIssuer(issuer);
    }

    static SecretSealer sealer() {
        byte[] k = new byte[32];
        new SecureRandom().nextBytes(k);
        String key = "k1:" + Base64.getEncoder().encodeToString(k);
        return new AesGcmSecretSealer(new SecretsConfig() {
            @Override
            public Class<? extends Annotation> annotationType() {
                return SecretsConfig.class;
            }

            @Override
            public String _masterKey() {
                return key;
            }

            @Override
            public String[] _previousKeys() {
                return new String[0];
            }

            @Override
            public String masterKeyFile() {
                return "";
            }
        }, java.nio.file.Path.of("target"));
    }

    private static RestConfig restConfig() {
        return (RestConfig) Proxy.newProxyInstance(RestConfig.class.getClassLoader(),
                new Class<?>[] { RestConfig.class }, (proxy, method, args) -> method.getDefaultValue());
    }

    @Override
    public void close() {
        try {
            server.stop();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        database.close();
    }
}
