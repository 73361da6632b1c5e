package dev.parley.registry.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.osgi.resource.Capability;
import org.osgi.resource.Requirement;
import org.osgi.resource.Resource;

import aQute.bnd.osgi.repository.XMLResourceParser;
import dev.parley.registry.RegistryEntry;
import dev.parley.registry.RegistryException;
import dev.parley.registry.RegistryException.Reason;
import dev.parley.registry.Signatures;
import dev.parley.registry.TestJars;
import dev.parley.registry.internal.local.LocalDirectoryStorage;

class VerifyingPluginRegistryTest {
    @TempDir
    Path dir;

    private final String[] acme = Signatures.generateKeyPair();
    private final Clock clock = Clock.fixed(Instant.parse("2026-03-01T10:00:00Z"), ZoneOffset.UTC);
    private LocalDirectoryStorage storage;
    private VerifyingPluginRegistry registry;
    private ExecutorService pool;

    @BeforeEach
    void open() {
        storage = new LocalDirectoryStorage(dir);
        registry = new VerifyingPluginRegistry(storage, 1024 * 1024, clock);
        registry.addPublisher("acme", acme[0]);
    }

    @AfterEach
    void close() {
        if (pool != null) {
            pool.shutdownNow();
        }
    }

    @Test
    void publishesAVerifiedPlugin() {
        byte[] jar = TestJars.plugin().build();
        RegistryEntry e = registry.publish(jar, Signatures.sign(jar, acme[1]), null);

        assertThat(e.id()).isEqualTo("example.echo");
        assertThat(e.version()).isEqualTo("1.0.0");
        assertThat(e.channel()).isEqualTo("stable");
        assertThat(e.publisher()).isEqualTo("acme");
        assertThat(e.sha256()).isEqualTo(Signatures.sha256Hex(jar));
        assertThat(e.size()).isEqualTo(jar.length);
        assertThat(e.apiRange()).isEqualTo("[1.0.0,2.0.0)");
        assertThat(e.permissions()).hasSize(4);
        assertThat(e.publishedAt()).isEqualTo(clock.instant());
        assertThat(registry.entry("example.echo", "1.0.0")).contains(e);
        assertThat(registry.entry("example.echo", "1.0")).contains(e);
        assertThat(registry.artifact("example.echo", "1.0.0")).isEqualTo(jar);
        Signatures.verifyArtifact(registry.artifact("example.echo", "1.0.0"), e, registry.publisher("acme").orElseThrow());
    }

    @Test
    void aVersionIsImmutable() {
        byte[] first = TestJars.plugin().build();
        registry.publish(first, Signatures.sign(first, acme[1]), "stable");
        byte[] second = TestJars.plugin().content("changed").build();

        assertRefused(() -> registry.publish(second, Signatures.sign(second, acme[1]), "stable"), Reason.ALREADY_PUBLISHED,
                "example.echo 1.0.0 is already published; versions are immutable — publish a new version");
        assertRefused(() -> registry.publish(first, Signatures.sign(first, acme[1]), "beta"), Reason.ALREADY_PUBLISHED,
                "already published");
        assertThat(registry.artifact("example.echo", "1.0.0")).isEqualTo(first);
        assertThat(jarFiles()).hasSize(1);
    }

    @Test
    void refusesUnknownPublishersBadSignaturesAndOversizeJars() {
        byte[] jar = TestJars.plugin().header("Parley-Plugin", "example.echo;type=tool;publisher=stranger").build();
        assertRefused(() -> registry.publish(jar, Signatures.sign(jar, acme[1]), null), Reason.UNKNOWN_PUBLISHER,
                "publisher 'stranger'");

        byte[] good = TestJars.plugin().build();
        String[] other = Signatures.generateKeyPair();
        assertRefused(() -> registry.publish(good, Signatures.sign(good, other[1]), null), Reason.BAD_SIGNATURE,
                "does not verify with the key of publisher 'acme'");
        byte[] signedOther = TestJars.plugin().content("other").build();
        assertRefused(() -> registry.publish(good, Signatures.sign(signedOther, acme[1]), null), Reason.BAD_SIGNATURE,
                "does not verify");
        assertRefused(() -> registry.publish(good, new byte[0], null), Reason.BAD_SIGNATURE, "has no signature");
        assertRefused(() -> registry.publish(good, Signatures.sign(good, acme[1]), "nightly"), Reason.INVALID_PLUGIN,
                "channel must be stable or beta");

        VerifyingPluginRegistry small = new VerifyingPluginRegistry(storage, 100, clock);
        assertRefused(() -> small.publish(good, Signatures.sign(good, acme[1]), null), Reason.TOO_LARGE,
                "accepts at most 100 bytes");

        assertThat(registry.entries()).isEmpty();
        assertThat(jarFiles()).isEmpty();
        assertThat(strayTempFiles()).isEmpty();
    }

    @Test
    void yankHidesAVersionFromTheIndexButKeepsItDownloadable() throws Exception {
        byte[] v1 = TestJars.plugin("example.echo", "1.0.0").build();
        byte[] v2 = TestJars.plugin("example.echo", "1.1.0").build();
        registry.publish(v1, Signatures.sign(v1, acme[1]), null);
        registry.publish(v2, Signatures.sign(v2, acme[1]), "beta");

        RegistryEntry yanked = registry.yank("example.echo", "1.0.0", "leaks the api key");
        assertThat(yanked.yanked()).isTrue();
        assertThat(yanked.yankReason()).isEqualTo("leaks the api key");
        assertThat(registry.entry("example.echo", "1.0.0").orElseThrow().yanked()).isTrue();
        assertThat(registry.artifact("example.echo", "1.0.0")).isEqualTo(v1);
        assertThat(registry.versions("example.echo")).extracting(RegistryEntry::version).containsExactly("1.1.0", "1.0.0");

        List<Resource> resources = parse(registry.r5Index("http://registry.test/api/v1/registry"));
        assertThat(resources).hasSize(1);
        assertThat(attribute(resources.get(0), "parley.plugin", "version").toString()).isEqualTo("1.1.0");

        assertRefused(() -> registry.yank("example.echo", "9.9.9", "x"), Reason.NOT_FOUND, "no plugin example.echo version 9.9.9");
    }

    @Test
    void theIndexDescribesEachVersionForAResolver() throws Exception {
        byte[] jar = TestJars.plugin().build();
        RegistryEntry e = registry.publish(jar, Signatures.sign(jar, acme[1]), null);

        List<Resource> resources = parse(registry.r5Index("http://registry.test/api/v1/registry/"));
        assertThat(resources).hasSize(1);
        Resource r = resources.get(0);

        assertThat(attribute(r, "osgi.identity", "osgi.identity")).isEqualTo("com.example.example.echo");
        assertThat(attribute(r, "osgi.identity", "version").toString()).isEqualTo("1.0.0");
        assertThat(attribute(r, "osgi.content", "osgi.content")).isEqualTo(e.sha256());
        assertThat(attribute(r, "osgi.content", "url"))
                .hasToString("http://registry.test/api/v1/registry/plugins/example.echo/1.0.0/artifact");
        assertThat(attribute(r, "osgi.content", "size").toString()).isEqualTo(String.valueOf(jar.length));
        assertThat(attribute(r, "parley.plugin", "id")).isEqualTo("example.echo");
        assertThat(attribute(r, "parley.plugin", "type")).isEqualTo("tool");
        assertThat(attribute(r, "parley.plugin", "publisher")).isEqualTo("acme");
        assertThat(attribute(r, "parley.plugin", "channel")).isEqualTo("stable");

        List<String> packageFilters = r.getRequirements("osgi.wiring.package").stream()
                .map(req -> req.getDirectives().get("filter")).toList();
        assertThat(packageFilters).anySatisfy(f -> assertThat(f).contains("osgi.wiring.package=dev.parley.api.chat")
                .contains("version>=1.0.0").contains("!(version>=2.0.0)"));
        Requirement optional = r.getRequirements("osgi.wiring.package").stream()
                .filter(req -> req.getDirectives().get("filter").contains("com.example.optional")).findFirst().orElseThrow();
        assertThat(optional.getDirectives()).containsEntry("resolution", "optional");
    }

    @Test
    void aTamperedArtifactIsADigestMismatch() throws Exception {
        byte[] jar = TestJars.plugin().build();
        registry.publish(jar, Signatures.sign(jar, acme[1]), null);
        Path stored = jarFiles().get(0);
        byte[] bytes = Files.readAllBytes(stored);
        bytes[bytes.length - 10] ^= 1;
        Files.write(stored, bytes);

        assertRefused(() -> registry.artifact("example.echo", "1.0.0"), Reason.DIGEST_MISMATCH,
                "does not match its recorded SHA-256");
        assertThat(parse(registry.r5Index("http://registry.test/api/v1/registry"))).isEmpty();

        Files.delete(stored);
        assertRefused(() -> registry.artifact("example.echo", "1.0.0"), Reason.STORAGE, "missing from storage");
    }

    @Test
    void concurrentPublishesOfOneVersionHaveExactlyOneWinnerAndLeaveNoStrayFiles() throws Exception {
        int racers = 8;
        pool = Executors.newFixedThreadPool(racers);
        CountDownLatch start = new CountDownLatch(1);
        List<Future<RegistryEntry>> results = new ArrayList<>();
        List<byte[]> jars = new ArrayList<>();
        for (int i = 0; i < racers; i++) {
            // half the racers upload identical bytes, half their own
            byte[] jar = TestJars.plugin().content(i % 2 == 0 ? "same" : "variant " + i).build();
            jars.add(jar);
            byte[] signature = Signatures.sign(jar, acme[1]);
            Callable<RegistryEntry> publish = () -> {
                start.await();
                return registry.publish(jar, signature, null);
            };
            results.add(pool.submit(publish));
        }
        start.countDown();

        int wins = 0;
        RegistryEntry winner = null;
        for (Future<RegistryEntry> f : results) {
            try {
                winner = f.get(30, TimeUnit.SECONDS);
                wins++;
            } catch (java.util.concurrent.ExecutionException e) {
                assertThat(e.getCause()).isInstanceOfSatisfying(RegistryException.class,
                        re -> assertThat(re.reason()).isEqualTo(Reason.ALREADY_PUBLISHED));
            }
        }
        assertThat(wins).isEqualTo(1);
        assertThat(registry.entries()).containsExactly(winner);
        assertThat(jarFiles()).singleElement().satisfies(p -> assertThat(p.getFileName().toString())
                .isEqualTo(registry.entry("example.echo", "1.0.0").orElseThrow().sha256() + ".jar"));
        assertThat(strayTempFiles()).isEmpty();
        byte[] served = registry.artifact("example.echo", "1.0.0");
        assertThat(jars).anySatisfy(j -> assertThat(j).isEqualTo(served));
    }

    @Test
    void publishersAreImmutableAndSeededFromConfiguration() {
        assertThat(registry.addPublisher("acme", acme[0]).publicKey()).isEqualTo(acme[0]);
        String[] other = Signatures.generateKeyPair();
        assertRefused(() -> registry.addPublisher("acme", other[0]), Reason.ALREADY_PUBLISHED, "already known with another key");
        assertRefused(() -> registry.addPublisher("bob", "garbage"), Reason.BAD_SIGNATURE, "not a base64 X.509");
        assertThatThrownBy(() -> registry.addPublisher("Bob Smith", other[0])).isInstanceOf(IllegalArgumentException.class);

        registry.trust(new String[] {"bob=" + other[0], " ", "acme=" + acme[0]});
        assertThat(registry.publishers()).extracting(p -> p.id()).containsExactly("acme", "bob");
        assertThatThrownBy(() -> registry.trust(new String[] {"carol"})).hasMessageContaining("is not id=base64PublicKey");
    }

    @Test
    void localStorageSurvivesReopen() {
        byte[] jar = TestJars.plugin().build();
        RegistryEntry e = registry.publish(jar, Signatures.sign(jar, acme[1]), "beta");
        registry.yank("example.echo", "1.0.0", "broken");

        VerifyingPluginRegistry reopened = new VerifyingPluginRegistry(new LocalDirectoryStorage(dir), 1024 * 1024, clock);
        RegistryEntry again = reopened.entry("example.echo", "1.0.0").orElseThrow();
        assertThat(again.sha256()).isEqualTo(e.sha256());
        assertThat(again.channel()).isEqualTo("beta");
        assertThat(again.yanked()).isTrue();
        assertThat(again.yankReason()).isEqualTo("broken");
        assertThat(again.apiImports()).isEqualTo(e.apiImports());
        assertThat(again.permissions()).isEqualTo(e.permissions());
        assertThat(again.publishedAt()).isEqualTo(e.publishedAt());
        assertThat(reopened.publisher("acme")).hasValueSatisfying(p -> assertThat(p.publicKey()).isEqualTo(acme[0]));
        assertThat(reopened.artifact("example.echo", "1.0.0")).isEqualTo(jar);
    }

    @Test
    void storageTargetFollowsTheStorageSetting() {
        var props = new java.util.Hashtable<String, Object>(Map.of("storage", "s3"));
        new StorageTargetPlugin().modifyConfiguration(null, props);
        assertThat(props).containsEntry("storage.target", "(parley.registry.storage=s3)");

        var explicit = new java.util.Hashtable<String, Object>(Map.of("storage", "s3", "storage.target", "(x=y)"));
        new StorageTargetPlugin().modifyConfiguration(null, explicit);
        assertThat(explicit).containsEntry("storage.target", "(x=y)");
        assertThat(StorageTargetPlugin.filter("a*(b)")).isEqualTo("(parley.registry.storage=a\\*\\(b\\))");
    }

    private List<Path> jarFiles() {
        try (Stream<Path> files = Files.walk(dir)) {
            return files.filter(p -> p.toString().endsWith(".jar")).toList();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private List<Path> strayTempFiles() {
        try (Stream<Path> files = Files.walk(dir)) {
            return files.filter(p -> p.getFileName().toString().startsWith(".tmp-")).toList();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    static List<Resource> parse(String xml) throws Exception {
        return XMLResourceParser.getResources(new ByteArrayInputStream(xml.getBytes(StandardCharsets.UTF_8)),
                URI.create("http://registry.test/"));
    }

    static Object attribute(Resource r, String namespace, String name) {
        List<Capability> caps = r.getCapabilities(namespace);
        assertThat(caps).as(namespace).hasSize(1);
        return caps.get(0).getAttributes().get(name);
    }

    private static byte[] shipped(String id, String version, String content) {
        return TestJars.plugin(id, version).header("Parley-Plugin", id + ";type=provider;publisher=parley")
                .content(content).build();
    }

    @Test
    void aShippedPluginIsStoredWithOriginDistributionAndNoSignature() {
        byte[] jar = shipped("ollama", "1.0.0", "a");
        RegistryEntry e = registry.publishShipped(jar);

        assertThat(e.origin()).isEqualTo(RegistryEntry.DISTRIBUTION);
        assertThat(e.shipped()).isTrue();
        assertThat(e.signature()).isNull();
        assertThat(e.publisher()).isEqualTo("parley");
        assertThat(e.channel()).isEqualTo(RegistryEntry.STABLE);
        assertThat(e.sha256()).isEqualTo(Signatures.sha256Hex(jar));
        // Read back from storage (a new registry over the same directory): the origin is kept.
        var reopened = new VerifyingPluginRegistry(new LocalDirectoryStorage(dir), 1024 * 1024, clock);
        assertThat(reopened.entry("ollama", "1.0.0")).contains(e);
        assertThat(reopened.artifact("ollama", "1.0.0")).isEqualTo(jar);
        // Yanking keeps the origin.
        assertThat(reopened.yank("ollama", "1.0.0", "broken").origin()).isEqualTo(RegistryEntry.DISTRIBUTION);
        assertThat(reopened.entry("ollama", "1.0.0").orElseThrow().origin()).isEqualTo(RegistryEntry.DISTRIBUTION);
        // Signed uploads keep origin published.
        byte[] signed = TestJars.plugin().build();
        assertThat(registry.publish(signed, Signatures.sign(signed, acme[1]), null).origin())
                .isEqualTo(RegistryEntry.PUBLISHED);
    }

    @Test
    void publishingTheSameShippedBytesAgainIsANoOpAndOtherBytesAreAConflict() {
        byte[] jar = shipped("ollama", "1.0.0", "a");
        RegistryEntry first = registry.publishShipped(jar);
        assertThat(registry.publishShipped(jar)).isEqualTo(first);

        byte[] rebuilt = shipped("ollama", "1.0.0", "b");
        assertRefused(() -> registry.publishShipped(rebuilt), Reason.SHIPPED_DIGEST_CONFLICT,
                "the registry holds ollama 1.0.0 (origin distribution) with SHA-256 " + first.sha256()
                        + ", but this server ships that version with SHA-256 " + Signatures.sha256Hex(rebuilt));
        assertThat(registry.artifact("ollama", "1.0.0")).isEqualTo(jar);
        assertThat(jarFiles()).hasSize(1);
    }

    @Test
    void aShippedVersionThatAPublisherUploadedWithOtherBytesIsAConflict() {
        byte[] uploaded = TestJars.plugin("ollama", "1.0.0").build();
        RegistryEntry signed = registry.publish(uploaded, Signatures.sign(uploaded, acme[1]), null);

        assertRefused(() -> registry.publishShipped(shipped("ollama", "1.0.0", "a")), Reason.SHIPPED_DIGEST_CONFLICT,
                "(origin published) with SHA-256 " + signed.sha256());
        assertThat(registry.entry("ollama", "1.0.0")).contains(signed);
    }

    @Test
    void shippedPluginsMustNameTheDistributionAndKeepTheSizeLimit() {
        byte[] acmes = TestJars.plugin("ollama", "1.0.0").build();
        assertRefused(() -> registry.publishShipped(acmes), Reason.INVALID_PLUGIN,
                "shipped plugin ollama 1.0.0 names publisher 'acme'; plugins the server ships name 'parley'");

        VerifyingPluginRegistry small = new VerifyingPluginRegistry(storage, 100, clock);
        assertRefused(() -> small.publishShipped(shipped("azure-openai", "1.0.0", "a")), Reason.TOO_LARGE,
                "accepts at most 100 bytes");
        assertThat(registry.entries()).isEmpty();
        assertThat(jarFiles()).isEmpty();
    }

    @Test
    void theDistributionsPublisherIdIsReserved() {
        String[] keys = Signatures.generateKeyPair();
        assertRefused(() -> registry.addPublisher("parley", keys[0]), Reason.RESERVED_PUBLISHER,
                "publisher id 'parley' is reserved for the plugins the server ships");
        assertThat(registry.publisher("parley")).isEmpty();
        assertThatThrownBy(() -> registry.trust(new String[] {"parley=" + keys[0]}))
                .isInstanceOfSatisfying(RegistryException.class,
                        e -> assertThat(e.reason()).isEqualTo(Reason.RESERVED_PUBLISHER));

        // Even where a 'parley' publisher was recorded before the id was reserved, nobody uploads as the distribution.
        storage.insertPublisher(new dev.parley.registry.Publisher("parley", keys[0], clock.instant()));
        byte[] jar = shipped("ollama", "1.0.0", "a");
        assertRefused(() -> registry.publish(jar, Signatures.sign(jar, keys[1]), null), Reason.RESERVED_PUBLISHER,
                "names publisher 'parley', which is reserved for the plugins the server ships");
        assertThat(registry.entries()).isEmpty();
    }

    @Test
    void concurrentShippedPublishesOfOneVersionStoreItOnce() throws Exception {
        byte[] jar = shipped("ollama", "1.0.0", "a");
        pool = Executors.newFixedThreadPool(4);
        CountDownLatch go = new CountDownLatch(1);
        List<Future<RegistryEntry>> results = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            var other = new VerifyingPluginRegistry(new LocalDirectoryStorage(dir), 1024 * 1024, clock);
            results.add(pool.submit(() -> {
                go.await();
                return other.publishShipped(jar);
            }));
        }
        go.countDown();
        for (Future<RegistryEntry> f : results) {
            assertThat(f.get(20, TimeUnit.SECONDS).sha256()).isEqualTo(Signatures.sha256Hex(jar));
        }
        assertThat(registry.entries()).hasSize(1);
        assertThat(jarFiles()).hasSize(1);
    }

    private static void assertRefused(org.assertj.core.api.ThrowableAssert.ThrowingCallable call, Reason reason, String message) {
        assertThatThrownBy(call).isInstanceOfSatisfying(RegistryException.class,
                e -> assertThat(e.reason()).isEqualTo(reason)).hasMessageContaining(message);
    }

    // ---- a plugin id belongs to its first publisher -------------------------------------------------------------

    private byte[] jarOf(String id, String version, String publisher) {
        return TestJars.plugin(id, version).header("Parley-Plugin", id + ";type=tool;publisher=" + publisher).build();
    }

    @Test
    void anotherPublishersUploadOfAnIdIsRefusedWhateverItsVersion() {
        String[] mallory = Signatures.generateKeyPair();
        registry.addPublisher("mallory", mallory[0]);
        byte[] original = jarOf("victim", "1.0.0", "acme");
        registry.publish(original, Signatures.sign(original, acme[1]), null);

        byte[] takeover = jarOf("victim", "9.0.0", "mallory");
        assertThatThrownBy(() -> registry.publish(takeover, Signatures.sign(takeover, mallory[1]), null))
                .isInstanceOfSatisfying(RegistryException.class, e -> {
                    assertThat(e.reason()).isEqualTo(Reason.PLUGIN_ID_TAKEN);
                    assertThat(e.getMessage()).contains("plugin id 'victim' belongs to publisher 'acme'")
                            .contains("names publisher 'mallory'");
                });

        assertThat(registry.versions("victim")).extracting(RegistryEntry::version).containsExactly("1.0.0");
        assertThat(registry.owner("victim")).contains("acme");
        byte[] next = jarOf("victim", "1.1.0", "acme");
        assertThat(registry.publish(next, Signatures.sign(next, acme[1]), null).version()).isEqualTo("1.1.0");
    }

    @Test
    void theOwnerIsRecordedOnlyForASignedUpload() {
        byte[] jar = jarOf("unclaimed", "1.0.0", "acme");
        assertThatThrownBy(() -> registry.publish(jar, new byte[64], null)).isInstanceOf(RegistryException.class);

        assertThat(registry.owner("unclaimed")).isEmpty();
    }

    @Test
    void ofTwoPublishersUploadingANewIdAtOnceExactlyOneOwnsIt() throws Exception {
        int racers = 8;
        List<String[]> keys = new ArrayList<>();
        for (int i = 0; i < racers; i++) {
            String[] k = Signatures.generateKeyPair();
            registry.addPublisher("racer-" + i, k[0]);
            keys.add(k);
        }
        pool = Executors.newFixedThreadPool(racers);
        CountDownLatch start = new CountDownLatch(1);
        List<Future<String>> results = new ArrayList<>();
        for (int i = 0; i < racers; i++) {
            int n = i;
            byte[] jar = jarOf("contested", "1." + n + ".0", "racer-" + n);
            byte[] signature = Signatures.sign(jar, keys.get(n)[1]);
            results.add(pool.submit(() -> {
                start.await();
                try {
                    return registry.publish(jar, signature, null).publisher();
                } catch (RegistryException e) {
                    return e.reason().name();
                }
            }));
        }
        start.countDown();
        List<String> outcomes = new ArrayList<>();
        for (Future<String> f : results) {
            outcomes.add(f.get(30, TimeUnit.SECONDS));
        }

        String owner = registry.owner("contested").orElseThrow();
        assertThat(outcomes).containsOnlyOnce(owner);
        assertThat(outcomes).filteredOn(o -> !o.equals(owner)).hasSize(racers - 1)
                .allMatch(o -> o.equals(Reason.PLUGIN_ID_TAKEN.name()));
        assertThat(registry.versions("contested")).extracting(RegistryEntry::publisher).containsOnly(owner);
    }

    @Test
    void anIdPublishedBeforeOwnersWereRecordedBelongsToItsEarliestPublisher() throws Exception {
        String[] mallory = Signatures.generateKeyPair();
        registry.addPublisher("mallory", mallory[0]);
        // Two versions of one id by two publishers, as storage held them before owners were recorded.
        byte[] first = jarOf("legacy", "1.0.0", "acme");
        byte[] later = jarOf("legacy", "2.0.0", "mallory");
        storage.insert(new RegistryEntry("legacy", "1.0.0", "b", "tool", "legacy", "", "acme", "stable", false, null,
                Map.of(), "", List.of(), Signatures.sha256Hex(first), first.length, "c2ln",
                Instant.parse("2026-01-01T00:00:00Z")));
        storage.insert(new RegistryEntry("legacy", "2.0.0", "b", "tool", "legacy", "", "mallory", "stable", false, null,
                Map.of(), "", List.of(), Signatures.sha256Hex(later), later.length, "c2ln",
                Instant.parse("2026-02-01T00:00:00Z")));

        assertThat(registry.owner("legacy")).contains("acme");
        byte[] again = jarOf("legacy", "3.0.0", "mallory");
        assertThatThrownBy(() -> registry.publish(again, Signatures.sign(again, mallory[1]), null))
                .isInstanceOfSatisfying(RegistryException.class,
                        e -> assertThat(e.reason()).isEqualTo(Reason.PLUGIN_ID_TAKEN));
    }

    @Test
    void aShippedIdOwnedByAnotherPublisherIsNotSeeded() {
        byte[] squatted = jarOf("openai", "0.0.1", "acme");
        registry.publish(squatted, Signatures.sign(squatted, acme[1]), null);

        byte[] shipped = jarOf("openai", "1.0.0", "parley");
        assertThatThrownBy(() -> registry.publishShipped(shipped)).isInstanceOfSatisfying(RegistryException.class,
                e -> assertThat(e.reason()).isEqualTo(Reason.PLUGIN_ID_TAKEN));
    }
}
