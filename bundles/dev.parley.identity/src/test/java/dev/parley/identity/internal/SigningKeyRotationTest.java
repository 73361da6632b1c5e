package dev.parley.identity.internal;

import static dev.parley.identity.internal.SignInTest.assertUnauthorized;
import static org.assertj.core.api.Assertions.assertThat;

import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import dev.parley.api.secrets.SecretSealer;
import dev.parley.db.internal.PooledDatabase;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Signing keys are shared by the nodes, rotate, and keep verifying only as long as their tokens can live. */
class SigningKeyRotationTest {
    @TempDir
    Path dataDir;

    private final TestIdentity.MovableClock clock = new TestIdentity.MovableClock();
    private final SecretSealer sealer = TestIdentity.sealer();
    private PooledDatabase db;
    private BuiltInIdentity node;

    @BeforeEach
    void start() {
        db = TestIdentity.h2();
        node = TestIdentity.node(TestIdentity.settings(5), db, sealer, clock, dataDir, new TestIdentity.Recorder());
    }

    @AfterEach
    void stop() {
        db.close();
    }

    @Test
    void theKeyIsStoredSealedAndEveryNodeSignsWithTheSameOne() {
        BuiltInIdentity other = TestIdentity.node(TestIdentity.settings(5), db, sealer, clock, dataDir,
                new TestIdentity.Recorder());
        assertThat(other.signingKeys().current().getKeyID()).isEqualTo(node.signingKeys().current().getKeyID());
        String stored = db.inTransaction("read", c -> {
            try (var st = c.createStatement(); var rs = st.executeQuery("SELECT private_jwk FROM identity_signing_keys")) {
                rs.next();
                return rs.getString(1);
            }
        });
        assertThat(sealer.isSealed(stored)).isTrue();
        assertThat(stored).doesNotContain("\"d\"");
    }

    @Test
    void aRotatedKeyVerifiesItsTokensUntilTheyHaveExpiredAndNoLonger() throws Exception {
        ECKey old = node.signingKeys().current();
        SignIn.Tokens before = node.signIn().login(null, "admin", TestIdentity.ADMIN_PASSWORD, "");
        // A second node that has read the keys before the rotation.
        BuiltInIdentity other = TestIdentity.node(TestIdentity.settings(5), db, sealer, clock, dataDir,
                new TestIdentity.Recorder());

        String kid = node.signingKeys().rotate();
        assertThat(kid).isNotEqualTo(old.getKeyID());
        SignIn.Tokens after = node.signIn().login(null, "admin", TestIdentity.ADMIN_PASSWORD, "");
        assertThat(SignedJWT.parse(after.accessToken()).getHeader().getKeyID()).isEqualTo(kid);
        assertThat(node.authenticate(before.accessToken())).isNotNull();
        // The other node has not refreshed: the unknown kid makes it read the keys at once.
        assertThat(other.authenticate(after.accessToken())).isNotNull();
        assertThat(other.authenticate(before.accessToken())).isNotNull();

        // A token the old key signed with a lifetime far beyond ours: once every genuine token of the old key has
        // expired, the key is gone and such a token is refused.
        String longLived = signed(old, Instant.now().plus(Duration.ofDays(10)));
        assertThat(node.authenticate(longLived)).isNotNull();
        clock.advance(Duration.ofMinutes(16).plusSeconds(1));
        node.refresh();
        assertUnauthorized(() -> node.authenticate(longLived), AccessTokens.SIGNATURE);
        assertThat(node.signingKeys().kids()).containsExactly(kid);
    }

    @Test
    void theCurrentKeyIsReplacedWhenItReachesItsAge() {
        String first = node.signingKeys().current().getKeyID();
        clock.advance(Duration.ofDays(29));
        node.refresh();
        assertThat(node.signingKeys().current().getKeyID()).isEqualTo(first);
        clock.advance(Duration.ofDays(2));
        node.refresh();
        assertThat(node.signingKeys().current().getKeyID()).isNotEqualTo(first);
        assertThat(node.signingKeys().kids()).hasSize(2).contains(first);
    }

    private String signed(ECKey key, Instant exp) throws Exception {
        var sid = node.authenticate(node.signIn().login(null, "admin", TestIdentity.ADMIN_PASSWORD, "")
                .accessToken()).credentialId();
        SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.ES256).type(JOSEObjectType.JWT)
                .keyID(key.getKeyID()).build(), new JWTClaimsSet.Builder().issuer("parley-test").audience("parley")
                .subject("u").claim("tenant", "default").claim("roles", List.of()).claim("sid", sid)
                .expirationTime(Date.from(exp)).build());
        jwt.sign(new ECDSASigner(key));
        return jwt.serialize();
    }

    @Test
    void aKeySealedUnderAnotherMasterKeyIsLeftOutAndReportedOnceNotAtEveryRefresh() {
        // A node whose master key is not the one the shared keys were sealed with.
        BuiltInIdentity stranger = TestIdentity.node(TestIdentity.settings(5), db, TestIdentity.sealer(), clock,
                dataDir, new TestIdentity.Recorder());
        String kid = node.signingKeys().current().getKeyID();
        assertThat(stranger.signingKeys().unusable()).contains(kid);
        assertThat(stranger.signingKeys().kids()).doesNotContain(kid);
        stranger.signingKeys().load();
        stranger.signingKeys().load();
        // Still left out, and still one entry: the ERROR line is written when a key first lands here.
        assertThat(stranger.signingKeys().unusable()).contains(kid);
        assertThat(stranger.signingKeys().kids()).doesNotContain(kid);
        assertThat(node.signingKeys().unusable()).isEmpty();
    }
}
