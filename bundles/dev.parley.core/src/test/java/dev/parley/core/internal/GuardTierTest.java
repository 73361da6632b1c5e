package dev.parley.core.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ModelDescriptor;
import java.lang.annotation.Annotation;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The tiers' call limits in the guard: which tier a plugin is in (its id, else its publisher, else the tier of every
 * publisher), the precedence over the guard's own bounds (a tier only narrows them), and calls that start after a
 * change applying it.
 */
class GuardTierTest {
    private final List<CountDownLatch> releases = new ArrayList<>();
    private PluginGuard guard;

    @AfterEach
    void tearDown() {
        releases.forEach(CountDownLatch::countDown);
        if (guard != null) {
            guard.deactivate();
        }
    }

    @Test
    void aTiersBoundAppliesWhenItIsTighterThanTheGuardsWhichIsTheDefaultAndTheCeiling() {
        assertThat(TierLimits.effective(5000, 0)).as("0: the guard's").isEqualTo(5000);
        assertThat(TierLimits.effective(5000, 1500)).isEqualTo(1500);
        assertThat(TierLimits.effective(5000, 300_000)).as("above the guard's: the guard's").isEqualTo(5000);
        assertThat(TierLimits.effective(32, 2)).isEqualTo(2);
    }

    @Test
    void aPluginIsInTheTierNamingItsIdElseItsPublisherElseTheTierOfEveryPublisher() {
        var table = new TierLimits.Table(List.of(
                new TierLimits("verified", Set.of(), Set.of("*"), 0, 0),
                new TierLimits("untrusted", Set.of("acme.moved"), Set.of("shady"), 0, 0),
                new TierLimits("trusted", Set.of("acme.moved"), Set.of("parley"), 0, 0)));

        assertThat(table.of("openai", "parley").name()).isEqualTo("trusted");
        assertThat(table.of("x", "shady").name()).isEqualTo("untrusted");
        assertThat(table.of("x", "acme").name()).isEqualTo("verified");
        assertThat(table.of("acme.moved", "parley").name()).as("a plugin id before its publisher; two tiers naming "
                + "it: the first by name").isEqualTo("trusted");
        assertThat(table.of("dev.parley.some.bundle", null)).as("a platform bundle's provider").isNull();
        assertThat(TierLimits.Table.EMPTY.of("x", "acme")).isNull();
    }

    @Test
    void theTimeoutOfAPluginsTierIsAppliedAndAChangeAppliesToTheNextCall() throws Exception {
        guard = new PluginGuard(new GuardSettings(5000, 32, 0, 20, 120_000, false, 5, 50, 60, 0), false);
        var r = register("slow.one", "acme");
        var other = register("calm.one", "parley");
        guard.tier("dev.parley.plugin.guard.tier~verified", limits("verified", Set.of("*"), 150, 0));

        assertThat(guard.tierOf("slow.one", "acme").name()).isEqualTo("verified");
        ParleyException first = blockedCallFails(r);
        assertThat(first.code()).isEqualTo(ErrorCode.UPSTREAM_TIMEOUT);
        assertThat(first.getMessage()).contains("did not return within 150 ms");

        guard.tier("dev.parley.plugin.guard.tier~verified", limits("verified", Set.of("*"), 250, 0));
        assertThat(blockedCallFails(r).getMessage()).contains("did not return within 250 ms");

        // Above the guard's own bound: the guard's applies.
        guard.modified(config(Map.of("callTimeoutMillis", 200L, "quarantine", false, "quarantineStuckSeconds", 0)));
        assertThat(blockedCallFails(r).getMessage()).contains("did not return within 200 ms");
        // A plugin in no tier of these (publisher parley is named by none, and * is verified's): verified too.
        assertThat(guard.callTimeoutMillis(r.plugin)).isEqualTo(200);
        guard.removeTier("dev.parley.plugin.guard.tier~verified");
        assertThat(guard.callTimeoutMillis(other.plugin)).isEqualTo(200);
        guard.tier("dev.parley.plugin.guard.tier~trusted", limits("trusted", Set.of("parley"), 100, 0));
        assertThat(guard.callTimeoutMillis(other.plugin)).isEqualTo(100);
        assertThat(guard.callTimeoutMillis(r.plugin)).as("acme is in no tier now").isEqualTo(200);
    }

    @Test
    void theCallsAtOnceOfAPluginsTierAreBounded() throws Exception {
        guard = new PluginGuard(new GuardSettings(60_000, 32, 0, 20, 120_000, false, 5, 50, 60, 0), false);
        var r = register("busy.one", "acme");
        guard.tier("dev.parley.plugin.guard.tier~untrusted", limits("untrusted", Set.of("acme"), 0, 2));

        CountDownLatch release = new CountDownLatch(1);
        releases.add(release);
        CountDownLatch entered = new CountDownLatch(2);
        for (int i = 0; i < 2; i++) {
            guard.start(r, "stream()", () -> {
                entered.countDown();
                awaitQuietly(release);
            }, e -> { });
        }
        assertThat(entered.await(10, TimeUnit.SECONDS)).isTrue();
        var third = new CompletableFuture<ParleyException>();
        guard.start(r, "stream()", () -> { }, third::complete);
        assertThat(third.get(10, TimeUnit.SECONDS).code()).isEqualTo(ErrorCode.OVERLOADED);
        assertThat(third.get().getMessage()).contains("busy: 2 calls");

        // Raised: one more gets in.
        guard.tier("dev.parley.plugin.guard.tier~untrusted", limits("untrusted", Set.of("acme"), 0, 3));
        CountDownLatch thirdEntered = new CountDownLatch(1);
        guard.start(r, "stream()", thirdEntered::countDown, e -> { });
        assertThat(thirdEntered.await(10, TimeUnit.SECONDS)).isTrue();
    }

    @Test
    void thePublisherIsReadFromTheParleyPluginHeader() {
        assertThat(PluginGuard.PluginRef.publisherOf("openai;type=provider;name=\"OpenAI; compatible, too\";"
                + "publisher=parley")).isEqualTo("parley");
        assertThat(PluginGuard.PluginRef.publisherOf("x;publisher=\"acme\";type=provider")).isEqualTo("acme");
        assertThat(PluginGuard.PluginRef.publisherOf("x;type=provider")).isNull();
        assertThat(PluginGuard.PluginRef.publisherOf("x;name=\"publisher=fake\"")).isNull();
    }

    private PluginGuard.Registration<ModelDescriptor> register(String pluginId, String publisher) {
        return guard.register(new PluginGuard.PluginRef(pluginId, publisher, -1), new Object(), () -> pluginId,
                List::of, "models()");
    }

    /** A call whose body blocks until the test ends; what the caller heard. */
    private ParleyException blockedCallFails(PluginGuard.Registration<?> r) throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        releases.add(release);
        var heard = new CompletableFuture<ParleyException>();
        guard.start(r, "stream()", () -> awaitQuietly(release), heard::complete);
        return heard.get(10, TimeUnit.SECONDS);
    }

    private static void awaitQuietly(CountDownLatch latch) {
        try {
            latch.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static TierLimits limits(String name, Set<String> publishers, long timeout, int max) {
        return new TierLimits(name, Set.of(), publishers, timeout, max);
    }

    private static PluginGuardConfig config(Map<String, Object> values) {
        return proxy(PluginGuardConfig.class, values);
    }

    private static <A extends Annotation> A proxy(Class<A> type, Map<String, Object> values) {
        return type.cast(Proxy.newProxyInstance(type.getClassLoader(), new Class<?>[] {type}, (p, m, args) ->
                values.containsKey(m.getName()) ? values.get(m.getName()) : m.getDefaultValue()));
    }
}
