package dev.parley.identity.internal;

import dev.parley.api.audit.AuditEvent;
import dev.parley.api.audit.AuditLog;
import dev.parley.api.audit.AuditOutcome;
import dev.parley.api.identity.AuthMethod;
import dev.parley.api.identity.Principal;
import dev.parley.api.identity.Role;
import dev.parley.api.secrets.SecretSealer;
import dev.parley.db.internal.PooledDatabase;
import dev.parley.secrets.internal.AesGcmSecretSealer;
import dev.parley.secrets.internal.SecretsConfig;
import java.lang.annotation.Annotation;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import org.osgi.service.event.Event;
import org.osgi.service.event.EventAdmin;

/** Real parts for the identity tests: H2 (or a PostgreSQL schema), the real sealer, a clock the test moves. */
final class TestIdentity {
    static final String ADMIN_PASSWORD = "correct horse battery staple";

    /** A clock that stands still until moved. */
    static final class MovableClock extends Clock {
        private volatile Instant now = Instant.now().truncatedTo(ChronoUnit.MILLIS);

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }

        void advance(Duration d) {
            now = now.plus(d);
        }
    }

    /** Every audit event and REVOKED event, in order. */
    static final class Recorder implements AuditLog, EventAdmin {
        final List<AuditEvent> audits = new CopyOnWriteArrayList<>();
        final List<Event> events = new CopyOnWriteArrayList<>();

        @Override
        public void record(AuditEvent event) {
            audits.add(event);
        }

        @Override
        public void postEvent(Event event) {
            events.add(event);
        }

        @Override
        public void sendEvent(Event event) {
            events.add(event);
        }

        List<AuditEvent> audits(String action, AuditOutcome outcome) {
            return audits.stream().filter(a -> a.action().equals(action) && a.outcome() == outcome).toList();
        }
    }

    static IdentitySettings settings(int lockoutThreshold) {
        // Argon2id with tiny costs: the tests are about the flow, PasswordHasherTest about the hash.
        return new IdentitySettings("parley-test", Duration.ofMinutes(15), Duration.ofDays(14), lockoutThreshold,
                Duration.ofMinutes(15), 12, new PasswordHasher.Params(256, 1, 1), 4, Duration.ofSeconds(60),
                Duration.ofSeconds(5), Duration.ofDays(30), ADMIN_PASSWORD);
    }

    static PooledDatabase h2() {
        return new PooledDatabase("jdbc:h2:mem:" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1", "", "", 8, 5000);
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
        }, Path.of("target"));
    }

    /** A node: the component as DS would make it, without its background refresh (tests call refresh()). */
    static BuiltInIdentity node(IdentitySettings settings, PooledDatabase db, SecretSealer sealer, Clock clock,
            Path dataDir, Recorder recorder) {
        BuiltInIdentity identity = new BuiltInIdentity(settings, db, sealer, clock, dataDir, false);
        identity.auditLog = recorder;
        identity.eventAdmin = recorder;
        return identity;
    }

    static Principal principal(String subject, String tenant, Role... roles) {
        return new Principal(subject, tenant, Set.of(roles), AuthMethod.PASSWORD, "parley-test", Set.of(), null,
                "s-" + subject);
    }

    static Map<String, Object> props(Event e) {
        return Map.of("subject", e.getProperty("subject"), "tenant", e.getProperty("tenant"), "credential.id",
                e.getProperty("credential.id"));
    }

    private TestIdentity() {
    }
}
