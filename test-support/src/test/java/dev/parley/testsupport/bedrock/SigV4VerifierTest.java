package dev.parley.testsupport.bedrock;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The verifier against AWS's published Signature Version 4 test suite (get-vanilla, post-vanilla). */
class SigV4VerifierTest {

    static final String SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    static final Clock AT_SIGNING = Clock.fixed(Instant.parse("2015-08-30T12:36:00Z"), ZoneOffset.UTC);

    SigV4Verifier verifier(String secret) {
        return new SigV4Verifier("AKIDEXAMPLE", secret, null, "us-east-1", "service", AT_SIGNING);
    }

    static Map<String, List<String>> headers(String signature) {
        return Map.of("host", List.of("example.amazonaws.com"), "x-amz-date", List.of("20150830T123600Z"),
                "authorization", List.of("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/"
                        + "aws4_request, SignedHeaders=host;x-amz-date, Signature=" + signature));
    }

    @Test
    void acceptsTheTestSuitesGetVanilla() {
        assertThat(verifier(SECRET).verify("GET", "/", null,
                headers("5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"), new byte[0])).isNull();
    }

    @Test
    void acceptsTheTestSuitesPostVanilla() {
        assertThat(verifier(SECRET).verify("POST", "/", null,
                headers("5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"), new byte[0])).isNull();
    }

    @Test
    void aWrongSecretIsAnInvalidSignature() {
        assertThat(verifier(SECRET.replace('w', 'v')).verify("GET", "/", null,
                headers("5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"), new byte[0]))
                .extracting(SigV4Verifier.Failure::errorType).isEqualTo("InvalidSignatureException");
    }

    @Test
    void anUnknownAccessKeyIsAnUnrecognizedClient() {
        SigV4Verifier other = new SigV4Verifier("AKIDOTHER", SECRET, null, "us-east-1", "service", AT_SIGNING);
        assertThat(other.verify("GET", "/", null,
                headers("5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"), new byte[0]))
                .extracting(SigV4Verifier.Failure::errorType).isEqualTo("UnrecognizedClientException");
    }

    @Test
    void aSignatureOlderThanFifteenMinutesHasExpired() {
        SigV4Verifier later = new SigV4Verifier("AKIDEXAMPLE", SECRET, null, "us-east-1", "service",
                Clock.fixed(Instant.parse("2015-08-30T12:52:00Z"), ZoneOffset.UTC));
        assertThat(later.verify("GET", "/", null,
                headers("5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"), new byte[0]))
                .extracting(SigV4Verifier.Failure::message).asString().startsWith("Signature expired");
    }

    @Test
    void thePathIsEncodedTwiceAsEveryServiceButS3SignsIt() {
        assertThat(SigV4Verifier.canonicalUri("/model/amazon.titan-embed-text-v2%3A0/invoke"))
                .isEqualTo("/model/amazon.titan-embed-text-v2%253A0/invoke");
    }
}
