package dev.parley.sandbox.hooks.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleException;
import org.osgi.framework.namespace.PackageNamespace;
import org.osgi.framework.wiring.BundleWire;
import org.osgi.framework.wiring.BundleWiring;
import org.osgi.framework.wiring.FrameworkWiring;

/** The resolver hook in a real framework: what a plugin's imports may wire to. */
class WiringHooksTest {
    @TempDir
    Path storage;
    TestFramework osgi;

    @BeforeEach
    void start() throws Exception {
        osgi = new TestFramework(storage);
        osgi.platform("api", "Export-Package", "dev.parley.api.llm;version=1.4.0");
        osgi.platform("h2", "Export-Package", "org.h2.tools;version=2.3.0");
        osgi.platform("servlet", "Export-Package", "javax.servlet;version=4.0.0");
    }

    @AfterEach
    void stop() throws Exception {
        osgi.close();
    }

    @Test
    void aPluginWiresToTheApiTheJdkAndJava() throws Exception {
        Bundle plugin = osgi.plugin("p", "Import-Package",
                "dev.parley.api.llm;version=\"[1.4,2)\",javax.net.ssl,java.util");

        assertThat(plugin.getState()).isEqualTo(Bundle.ACTIVE);
        assertThat(importedFrom(plugin)).containsEntry("dev.parley.api.llm", "api")
                .containsEntry("javax.net.ssl", "org.apache.felix.framework");
        assertThat(osgi.activator.plugins().refusals(plugin)).isEmpty();
    }

    @Test
    void aPluginImportingAPlatformInternalDoesNotResolveAndSaysWhy() throws Exception {
        assertThatThrownBy(() -> osgi.plugin("p", "Import-Package", "dev.parley.api.llm,org.h2.tools"))
                .isInstanceOf(BundleException.class).hasMessageContaining("org.h2.tools");
        Bundle plugin = pluginBundle("p");

        assertThat(plugin.getState()).isEqualTo(Bundle.INSTALLED);
        assertThat(osgi.activator.plugins().refusals(plugin)).singleElement().asString()
                .contains("may not import package org.h2.tools").contains("allowed packages");
        // The same import from a platform bundle resolves: the rule is for plugins.
        assertThat(osgi.platform("store", "Import-Package", "org.h2.tools").getState()).isEqualTo(Bundle.ACTIVE);
    }

    @Test
    void jdkPackagesComeOnlyFromTheSystemBundle() throws Exception {
        assertThatThrownBy(() -> osgi.plugin("p", "Import-Package", "javax.servlet"))
                .isInstanceOf(BundleException.class).hasMessageContaining("javax.servlet");
    }

    @Test
    void anOptionalImportOfADisallowedPackageIsLeftUnwired() throws Exception {
        Bundle plugin = osgi.plugin("p", "Import-Package", "org.h2.tools;resolution:=optional,dev.parley.api.llm");

        assertThat(plugin.getState()).isEqualTo(Bundle.ACTIVE);
        assertThat(importedFrom(plugin)).containsOnlyKeys("dev.parley.api.llm");
        assertThat(osgi.activator.plugins().refusals(plugin)).singleElement().asString().contains("optional");
    }

    @Test
    void noBundleWiresToAPluginsExportsAndAPluginCannotStandInForAnApiPackage() throws Exception {
        osgi.plugin("rogue", "Export-Package", "dev.parley.api.llm;version=1.9.0,com.rogue.stuff");

        Bundle other = osgi.plugin("other", "Import-Package", "dev.parley.api.llm;version=\"[1.4,2)\"");
        assertThat(importedFrom(other)).containsEntry("dev.parley.api.llm", "api");
        assertThatThrownBy(() -> osgi.platform("core", "Import-Package", "com.rogue.stuff"))
                .isInstanceOf(BundleException.class);
        assertThatThrownBy(() -> osgi.plugin("friend", "Import-Package", "com.rogue.stuff"))
                .isInstanceOf(BundleException.class);
        assertThat(osgi.activator.plugins().refusals(pluginBundle("friend"))).singleElement().asString()
                .contains("another plugin");
    }

    @Test
    void aPluginMayNeitherRequireABundleNorAttachToOne() throws Exception {
        assertThatThrownBy(() -> osgi.plugin("p", "Require-Bundle", "h2")).isInstanceOf(BundleException.class);
        assertThat(osgi.activator.plugins().refusals(pluginBundle("p"))).singleElement().asString()
                .contains("Require-Bundle");

        // Host and fragments resolved together: the platform's fragment attaches, the plugin's does not.
        Bundle host = osgi.installOnly("test:host", "host");
        Bundle platformFragment = osgi.installOnly("test:host.extra", "host.extra", "Fragment-Host", "host");
        Bundle fragment = osgi.installOnly("parley-plugin:frag@1.0.0", "frag", "Fragment-Host", "host");
        osgi.system().getBundle(0).adapt(FrameworkWiring.class).resolveBundles(List.of(host, platformFragment,
                fragment));
        assertThat(host.getState()).isEqualTo(Bundle.RESOLVED);
        assertThat(platformFragment.getState()).isEqualTo(Bundle.RESOLVED);
        assertThat(fragment.getState()).isEqualTo(Bundle.INSTALLED);
        assertThat(osgi.activator.plugins().refusals(fragment)).singleElement().asString().contains("fragment");
    }

    @Test
    void aTiersPackagesReplaceTheDefaultForItsPlugins() throws Exception {
        osgi.activator.policy().tier("dev.parley.sandbox.hooks.tier~trusted", new Policy.Tier(new Rules("trusted",
                Patterns.of("dev.parley.api.*", "org.h2.*", "java.*"), Patterns.NONE, Patterns.NONE, Patterns.NONE),
                Set.of("trustedOne", "trustedTwo")));

        assertThat(osgi.plugin("trustedOne", "Import-Package", "org.h2.tools").getState()).isEqualTo(Bundle.ACTIVE);
        assertThatThrownBy(() -> osgi.plugin("p", "Import-Package", "org.h2.tools"))
                .isInstanceOf(BundleException.class);
        assertThatThrownBy(() -> osgi.plugin("trustedTwo", "Import-Package", "javax.net.ssl"))
                .as("the default rules allow the JDK's javax.*, this tier does not")
                .isInstanceOf(BundleException.class).hasMessageContaining("javax.net.ssl");
        assertThat(osgi.activator.plugins().refusals(pluginBundle("trustedTwo"))).singleElement().asString()
                .contains("of tier trusted");
    }

    @Test
    void aPublishersTierThatNarrowsTheDefaultsRefusesAnImportTheDefaultsAllowNamingTheTier() throws Exception {
        osgi.activator.policy().tier("dev.parley.sandbox.hooks.tier~untrusted", new Policy.Tier(new Rules("untrusted",
                Patterns.of("dev.parley.api.*", "org.slf4j", "java.*"), Patterns.NONE, Patterns.NONE, Patterns.NONE),
                Set.of(), Set.of("shady"), true));

        assertThat(osgi.plugin("fine", "Parley-Plugin", "fine;type=provider;publisher=acme", "Import-Package",
                "org.osgi.framework").getState()).as("another publisher: the default rules").isEqualTo(Bundle.ACTIVE);
        assertThatThrownBy(() -> osgi.plugin("narrow", "Parley-Plugin", "narrow;type=provider;publisher=shady",
                "Import-Package", "org.osgi.framework")).isInstanceOf(BundleException.class)
                .hasMessageContaining("org.osgi.framework");
        assertThat(osgi.activator.plugins().refusals(pluginBundle("narrow"))).containsExactly("may not import package "
                + "org.osgi.framework: it is not in the sandbox's allowed packages of tier untrusted");
    }

    private Bundle pluginBundle(String pluginId) {
        return osgi.system().getBundle("parley-plugin:" + pluginId + "@1.0.0");
    }

    private static java.util.Map<String, String> importedFrom(Bundle bundle) {
        java.util.Map<String, String> out = new java.util.TreeMap<>();
        for (BundleWire w : bundle.adapt(BundleWiring.class).getRequiredWires(PackageNamespace.PACKAGE_NAMESPACE)) {
            out.put(String.valueOf(w.getCapability().getAttributes().get(PackageNamespace.PACKAGE_NAMESPACE)),
                    w.getProvider().getBundle().getSymbolicName());
        }
        return out;
    }
}
