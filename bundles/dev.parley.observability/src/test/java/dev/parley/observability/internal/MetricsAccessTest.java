package dev.parley.observability.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.annotation.Annotation;
import java.util.Map;

import org.junit.jupiter.api.Test;

import dev.parley.observability.internal.MetricsServlet.MetricsAccess;
import dev.parley.observability.internal.MetricsServlet.MetricsAccess.Verdict;

class MetricsAccessTest {
    @Test
    void loopbackModeAnswersThisMachineAndTokenHoldersOnly() {
        MetricsAccess access = MetricsAccess.of(config("loopback", ""), Map.of(MetricsServlet.PRIVATE_TOKEN, "s3cret"));
        assertThat(access.check("127.0.0.1", null)).isEqualTo(Verdict.ALLOWED);
        assertThat(access.check("::1", null)).isEqualTo(Verdict.ALLOWED);
        assertThat(access.check("10.1.2.3", null)).isEqualTo(Verdict.NOT_LOOPBACK);
        assertThat(access.check("10.1.2.3", "Bearer s3cret")).isEqualTo(Verdict.ALLOWED);
        assertThat(access.check("10.1.2.3", "Bearer nope")).isEqualTo(Verdict.TOKEN_WRONG);
        assertThat(access.check(null, null)).isEqualTo(Verdict.NOT_LOOPBACK);
    }

    @Test
    void tokenModeWantsTheTokenFromEveryone() {
        MetricsAccess access = MetricsAccess.of(config("token", "s3cret"), Map.of());
        assertThat(access.check("127.0.0.1", null)).isEqualTo(Verdict.TOKEN_MISSING);
        assertThat(access.check("127.0.0.1", "Bearer s3cret")).isEqualTo(Verdict.ALLOWED);
        assertThat(access.check("127.0.0.1", "bearer s3cret")).isEqualTo(Verdict.ALLOWED);
        assertThat(access.check("127.0.0.1", "Basic czNjcmV0")).isEqualTo(Verdict.TOKEN_MISSING);
    }

    @Test
    void tokenModeWithoutATokenAnswersNobody() {
        MetricsAccess access = MetricsAccess.of(config("token", ""), Map.of());
        assertThat(access.check("127.0.0.1", "Bearer anything")).isEqualTo(Verdict.TOKEN_WRONG);
    }

    @Test
    void openModeAnswersEveryone() {
        assertThat(MetricsAccess.of(config("OPEN", ""), Map.of()).check("192.0.2.7", null)).isEqualTo(Verdict.ALLOWED);
    }

    @Test
    void anUnknownModeFallsBackToLoopback() {
        assertThat(MetricsAccess.of(config("public", ""), Map.of()).check("192.0.2.7", null))
                .isEqualTo(Verdict.NOT_LOOPBACK);
    }

    private static ObservabilityConfig config(String access, String token) {
        return new ObservabilityConfig() {
            @Override
            public Class<? extends Annotation> annotationType() {
                return ObservabilityConfig.class;
            }

            @Override
            public String metricsAccess() {
                return access;
            }

            @Override
            public String metricsToken() {
                return token;
            }

            @Override
            public String[] extraRoutes() {
                return new String[0];
            }
        };
    }
}
