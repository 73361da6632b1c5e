package dev.parley.sandbox.hooks.internal;

import static dev.parley.sandbox.hooks.internal.TestFramework.register;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceEvent;
import org.osgi.framework.ServiceReference;
import org.osgi.framework.ServiceRegistration;

/** The service hooks in a real framework: what a plugin finds and hears, and what others see of a plugin. */
class ServiceHooksTest {
    static final String DATABASE = "dev.parley.db.Database";
    static final String SEALER = "dev.parley.api.secrets.SecretSealer";
    static final String TRACE_HEADERS = "dev.parley.api.telemetry.TraceHeaders";
    static final String OPEN_TELEMETRY = "io.opentelemetry.api.OpenTelemetry";
    static final String CHAT_PROVIDER = "dev.parley.api.llm.ChatModelProvider";
    static final String AUTHENTICATOR = "dev.parley.api.identity.BearerAuthenticator";
    static final String CONFIG_ADMIN = "org.osgi.service.cm.ConfigurationAdmin";

    @TempDir
    Path storage;
    TestFramework osgi;

    @AfterEach
    void stop() throws Exception {
        if (osgi != null) {
            osgi.close();
        }
    }

    @Test
    void aPluginFindsOnlyTheServicesItsRulesListAndItsOwn() throws Exception {
        osgi = new TestFramework(storage);
        Bundle core = osgi.platform("core");
        register(core, DATABASE);
        register(core, SEALER);
        register(core, TRACE_HEADERS);
        Bundle plugin = osgi.plugin("p");
        register(plugin, "com.example.Internal");
        BundleContext ctx = plugin.getBundleContext();

        assertThat(ctx.getServiceReference(DATABASE)).isNull();
        assertThat(ctx.getServiceReference(SEALER)).isNull();
        assertThat(ctx.getServiceReference(TRACE_HEADERS)).isNotNull();
        assertThat(ctx.getServiceReference("com.example.Internal")).as("its own").isNotNull();
        // The framework's own "true" condition, which every DS 1.5 component waits for, is there too.
        assertThat(ctx.getAllServiceReferences(null, null)).extracting(r -> interfaces(r)[0])
                .containsExactlyInAnyOrder(TRACE_HEADERS, "com.example.Internal", "org.osgi.service.condition.Condition");
        // The platform sees everything of the platform.
        BundleContext other = osgi.platform("web").getBundleContext();
        assertThat(other.getServiceReference(DATABASE)).isNotNull();
        assertThat(other.getServiceReference(SEALER)).isNotNull();
    }

    @Test
    void aRegistrationAlsoUnderAnUnlistedInterfaceIsHidden() throws Exception {
        osgi = new TestFramework(storage);
        register(osgi.platform("observability"), OPEN_TELEMETRY, TRACE_HEADERS);
        BundleContext ctx = osgi.plugin("p").getBundleContext();

        assertThat(ctx.getServiceReference(TRACE_HEADERS)).isNull();
        assertThat(ctx.getServiceReference(OPEN_TELEMETRY)).isNull();
    }

    @Test
    void othersSeeOnlyTheProviderServicesOfAPluginAndPluginsNoneOfEachOther() throws Exception {
        osgi = new TestFramework(storage);
        Bundle plugin = osgi.plugin("p");
        register(plugin, CHAT_PROVIDER);
        register(plugin, AUTHENTICATOR);
        register(plugin, "jakarta.servlet.Filter");
        register(plugin, CHAT_PROVIDER, AUTHENTICATOR);
        BundleContext platform = osgi.platform("core").getBundleContext();

        assertThat(platform.getServiceReferences(CHAT_PROVIDER, null)).as("only the pure provider registration")
                .hasSize(1);
        assertThat(platform.getServiceReferences(AUTHENTICATOR, null)).isNull();
        assertThat(platform.getServiceReference("jakarta.servlet.Filter")).isNull();
        assertThat(osgi.plugin("q").getBundleContext().getServiceReference(CHAT_PROVIDER)).isNull();
        assertThat(plugin.getBundleContext().getServiceReferences(AUTHENTICATOR, null)).hasSize(2);
    }

    @Test
    void aPluginsListenersHearOnlyOfWhatItMaySee() throws Exception {
        osgi = new TestFramework(storage);
        Bundle core = osgi.platform("core");
        Bundle plugin = osgi.plugin("p");
        List<String> heard = new CopyOnWriteArrayList<>();
        plugin.getBundleContext().addServiceListener(e -> heard.add(interfaces(e.getServiceReference())[0]
                + (e.getType() == ServiceEvent.REGISTERED ? " registered" : " " + e.getType())));
        List<String> platformHeard = new CopyOnWriteArrayList<>();
        osgi.platform("web").getBundleContext().addServiceListener(e -> platformHeard.add(
                interfaces(e.getServiceReference())[0]));

        register(core, DATABASE).unregister();
        register(core, TRACE_HEADERS);
        register(osgi.plugin("q"), CHAT_PROVIDER);
        register(osgi.plugin("r"), AUTHENTICATOR);

        assertThat(heard).containsExactly(TRACE_HEADERS + " registered");
        assertThat(platformHeard).containsExactly(DATABASE, DATABASE, TRACE_HEADERS, CHAT_PROVIDER);
    }

    @Test
    void configurationAdminIsFoundByAPluginContextOnlyForScrsConfigurationTracker() throws Exception {
        AtomicBoolean scrAsking = new AtomicBoolean();
        osgi = new TestFramework(storage, scrAsking::get);
        Bundle cm = osgi.platform("cm");
        ServiceRegistration<?> first = register(cm, CONFIG_ADMIN);
        BundleContext ctx = osgi.plugin("p").getBundleContext();

        assertThat(ctx.getServiceReference(CONFIG_ADMIN)).as("the plugin's own look-up").isNull();
        scrAsking.set(true);
        assertThat(ctx.getServiceReference(CONFIG_ADMIN)).as("SCR's tracker, through the plugin's context").isNotNull();

        // SCR's tracker listener (added while SCR asks) hears Configuration Admin come and go; the plugin's does not.
        List<String> scr = new CopyOnWriteArrayList<>();
        ctx.addServiceListener(e -> scr.add("scr " + e.getType()), "(objectClass=" + CONFIG_ADMIN + ")");
        scrAsking.set(false);
        List<String> own = new CopyOnWriteArrayList<>();
        ctx.addServiceListener(e -> own.add("own " + e.getType()), "(objectClass=" + CONFIG_ADMIN + ")");
        first.unregister();
        register(cm, CONFIG_ADMIN);

        assertThat(scr).containsExactly("scr " + ServiceEvent.UNREGISTERING, "scr " + ServiceEvent.REGISTERED);
        assertThat(own).isEmpty();
        assertThat(osgi.activator.plugins()).isNotNull();
    }

    @Test
    void aTiersVisibleServicesApplyToItsPluginsOnly() throws Exception {
        osgi = new TestFramework(storage);
        Bundle core = osgi.platform("core");
        register(core, DATABASE);
        register(core, TRACE_HEADERS);
        osgi.activator.policy().tier("dev.parley.sandbox.hooks.tier~db", new Policy.Tier(new Rules("db", Patterns.of("java.*"),
                Patterns.NONE, Patterns.of(DATABASE), Patterns.of(CHAT_PROVIDER)), Set.of("inTier")));

        BundleContext inTier = osgi.plugin("inTier").getBundleContext();
        BundleContext outside = osgi.plugin("outside").getBundleContext();

        assertThat(inTier.getServiceReference(DATABASE)).isNotNull();
        assertThat(inTier.getServiceReference(TRACE_HEADERS)).isNull();
        assertThat(outside.getServiceReference(DATABASE)).isNull();
        assertThat(outside.getServiceReference(TRACE_HEADERS)).isNotNull();
    }

    @Test
    void aBundleWithAParleyPluginHeaderIsAPluginWhereverItWasInstalledFrom() throws Exception {
        osgi = new TestFramework(storage);
        register(osgi.platform("core"), DATABASE);
        Bundle headed = osgi.install("file:/somewhere/echo.jar", "echo", "Parley-Plugin",
                "echo;type=provider;name=\"Echo\"");

        assertThat(osgi.activator.plugins().confined(headed)).isTrue();
        assertThat(osgi.activator.plugins().pluginId(headed)).isEqualTo("echo");
        assertThat(headed.getBundleContext().getServiceReference(DATABASE)).isNull();
        assertThat(osgi.activator.plugins().confined(osgi.framework)).as("the system bundle").isFalse();
    }

    static String[] interfaces(ServiceReference<?> ref) {
        return (String[]) ref.getProperty("objectClass");
    }
}
