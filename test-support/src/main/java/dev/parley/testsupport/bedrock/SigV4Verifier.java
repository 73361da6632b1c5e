package dev.parley.testsupport.bedrock;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Checks AWS Signature Version 4 on a request, recomputed from the documented algorithm ("Create a signed AWS API
 * request" and "Elements of an AWS API request signature" in the IAM user guide), independently of the SDK:
 * canonical request, string to sign, signing key (HMAC chain over date, region, service, {@code aws4_request}),
 * signature. Answers the way AWS does when a check fails: 403 with {@code MissingAuthenticationTokenException},
 * {@code UnrecognizedClientException} (unknown access key or session token) or {@code InvalidSignatureException}
 * (wrong signature, scope or date).
 */
public final class SigV4Verifier {

    /** A failed check: the error type and message AWS answers with, always with HTTP 403. */
    public record Failure(String errorType, String message) {
    }

    private static final String ALGORITHM = "AWS4-HMAC-SHA256";
    private static final DateTimeFormatter AMZ_DATE = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'")
            .withZone(ZoneOffset.UTC);
    private static final Duration MAX_SKEW = Duration.ofMinutes(15);

    private final String accessKeyId;
    private final String secretAccessKey;
    private final String sessionToken;
    private final String region;
    private final String service;
    private final Clock clock;

    public SigV4Verifier(String accessKeyId, String secretAccessKey, String sessionToken, String region,
            String service) {
        this(accessKeyId, secretAccessKey, sessionToken, region, service, Clock.systemUTC());
    }

    SigV4Verifier(String accessKeyId, String secretAccessKey, String sessionToken, String region, String service,
            Clock clock) {
        this.accessKeyId = accessKeyId;
        this.secretAccessKey = secretAccessKey;
        this.sessionToken = sessionToken;
        this.region = region;
        this.service = service;
        this.clock = clock;
    }

    /**
     * Verifies one request; null when it is correctly signed.
     *
     * @param rawPath  the path as sent (percent-encoded)
     * @param rawQuery the query as sent, or null
     * @param headers  header names in lower case
     */
    public Failure verify(String method, String rawPath, String rawQuery, Map<String, List<String>> headers,
            byte[] body) {
        String authorization = first(headers, "authorization");
        if (authorization == null) {
            return new Failure("MissingAuthenticationTokenException", "Missing Authentication Token");
        }
        if (!authorization.startsWith(ALGORITHM + " ")) {
            return new Failure("IncompleteSignatureException",
                    "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.");
        }
        Map<String, String> parts = new TreeMap<>();
        for (String p : authorization.substring(ALGORITHM.length() + 1).split(",")) {
            int eq = p.indexOf('=');
            if (eq > 0) {
                parts.put(p.substring(0, eq).trim(), p.substring(eq + 1).trim());
            }
        }
        String credential = parts.get("Credential");
        String signedHeaders = parts.get("SignedHeaders");
        String signature = parts.get("Signature");
        if (credential == null || signedHeaders == null || signature == null) {
            return new Failure("IncompleteSignatureException",
                    "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters.");
        }
        String[] scope = credential.split("/");
        if (scope.length != 5 || !"aws4_request".equals(scope[4])) {
            return new Failure("IncompleteSignatureException", "Credential is malformed.");
        }
        if (!accessKeyId.equals(scope[0])) {
            return new Failure("UnrecognizedClientException", "The security token included in the request is invalid.");
        }
        String token = first(headers, "x-amz-security-token");
        if (sessionToken != null ? !sessionToken.equals(token) : token != null) {
            return new Failure("UnrecognizedClientException", "The security token included in the request is invalid.");
        }
        if (!region.equals(scope[2])) {
            return new Failure("InvalidSignatureException", "Credential should be scoped to a valid region. ");
        }
        if (!service.equals(scope[3])) {
            return new Failure("InvalidSignatureException",
                    "Credential should be scoped to correct service: '" + service + "'. ");
        }
        String amzDate = first(headers, "x-amz-date");
        if (amzDate == null) {
            return new Failure("IncompleteSignatureException",
                    "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.");
        }
        Instant signedAt;
        try {
            signedAt = Instant.from(AMZ_DATE.parse(amzDate));
        } catch (RuntimeException e) {
            return new Failure("IncompleteSignatureException", "Date must be in ISO-8601 'basic format'.");
        }
        if (!amzDate.startsWith(scope[1])) {
            return new Failure("InvalidSignatureException", "Date in Credential scope does not match YYYYMMDD from "
                    + "ISO-8601 version of date from HTTP: '" + scope[1] + "' != '" + amzDate.substring(0, 8) + "'");
        }
        if (Duration.between(signedAt, clock.instant()).abs().compareTo(MAX_SKEW) > 0) {
            return new Failure("InvalidSignatureException", "Signature expired: " + amzDate
                    + " is now earlier or later than the allowed 15 minutes.");
        }
        List<String> signed = List.of(signedHeaders.split(";"));
        if (!signed.contains("host") || !signed.contains("x-amz-date")) {
            return new Failure("InvalidSignatureException", "'Host' and 'X-Amz-Date' must be signed headers.");
        }
        String payloadHash = first(headers, "x-amz-content-sha256");
        String bodyHash = hex(sha256(body));
        if (payloadHash == null) {
            payloadHash = bodyHash;
        } else if (!"UNSIGNED-PAYLOAD".equals(payloadHash) && !payloadHash.equals(bodyHash)) {
            return new Failure("InvalidSignatureException",
                    "The provided 'x-amz-content-sha256' header does not match what was computed.");
        }
        StringBuilder canonical = new StringBuilder();
        canonical.append(method).append('\n');
        canonical.append(canonicalUri(rawPath)).append('\n');
        canonical.append(canonicalQuery(rawQuery)).append('\n');
        for (String name : signed) {
            List<String> values = headers.get(name);
            if (values == null) {
                return new Failure("InvalidSignatureException", "Signed header '" + name + "' is not in the request.");
            }
            List<String> trimmed = new ArrayList<>();
            for (String v : values) {
                trimmed.add(v.trim().replaceAll(" +", " "));
            }
            canonical.append(name).append(':').append(String.join(",", trimmed)).append('\n');
        }
        canonical.append('\n').append(signedHeaders).append('\n').append(payloadHash);
        String scopeText = scope[1] + "/" + scope[2] + "/" + scope[3] + "/aws4_request";
        String stringToSign = ALGORITHM + "\n" + amzDate + "\n" + scopeText + "\n"
                + hex(sha256(canonical.toString().getBytes(StandardCharsets.UTF_8)));
        byte[] key = hmac(("AWS4" + secretAccessKey).getBytes(StandardCharsets.UTF_8), scope[1]);
        key = hmac(key, scope[2]);
        key = hmac(key, scope[3]);
        key = hmac(key, "aws4_request");
        String expected = hex(hmac(key, stringToSign));
        if (!MessageDigest.isEqual(expected.getBytes(StandardCharsets.US_ASCII),
                signature.getBytes(StandardCharsets.US_ASCII))) {
            return new Failure("InvalidSignatureException", "The request signature we calculated does not match the "
                    + "signature you provided. Check your AWS Secret Access Key and signing method. Consult the "
                    + "service documentation for details.");
        }
        return null;
    }

    /** Every service but S3 signs the path URI-encoded twice: the path as sent, encoded once more. */
    static String canonicalUri(String rawPath) {
        if (rawPath == null || rawPath.isEmpty()) {
            return "/";
        }
        return encode(rawPath, false);
    }

    static String canonicalQuery(String rawQuery) {
        if (rawQuery == null || rawQuery.isEmpty()) {
            return "";
        }
        TreeMap<String, List<String>> params = new TreeMap<>();
        for (String pair : rawQuery.split("&")) {
            int eq = pair.indexOf('=');
            String name = java.net.URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
            String value = eq < 0 ? "" : java.net.URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
            params.computeIfAbsent(encode(name, true), k -> new ArrayList<>()).add(encode(value, true));
        }
        List<String> out = new ArrayList<>();
        params.forEach((k, vs) -> vs.stream().sorted().forEach(v -> out.add(k + "=" + v)));
        return String.join("&", out);
    }

    /** RFC 3986 encoding as SigV4 defines it: unreserved characters stay, everything else is %XY (upper case). */
    static String encode(String s, boolean encodeSlash) {
        StringBuilder out = new StringBuilder();
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            char c = (char) (b & 0xff);
            if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'
                    || c == '.' || c == '~' || (c == '/' && !encodeSlash)) {
                out.append(c);
            } else {
                out.append('%').append(String.format(Locale.ROOT, "%02X", b & 0xff));
            }
        }
        return out.toString();
    }

    private static String first(Map<String, List<String>> headers, String name) {
        List<String> v = headers.get(name);
        return v == null || v.isEmpty() ? null : v.get(0);
    }

    static byte[] sha256(byte[] data) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(data);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    static byte[] hmac(byte[] key, String data) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            return mac.doFinal(data.getBytes(StandardCharsets.UTF_8));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    static String hex(byte[] bytes) {
        return HexFormat.of().formatHex(bytes);
    }
}
