package dev.parley.sandbox.hooks;

import java.util.List;
import java.util.Map;
import org.osgi.annotation.versioning.ProviderType;
import org.osgi.framework.Bundle;

/**
 * The plugin sandbox's view of the bundles in this framework. A bundle is <em>confined</em> when the plugin runtime
 * installed it (its location starts with {@code parley-plugin:}), when it carries a {@code Parley-Plugin} header, or
 * when a confined bundle installed it. A confined bundle sees only the services the sandbox allows it and its own
 * bundle, wires only to the packages its rules allow, and what it offers others is limited to provider services.
 *
 * <p>The service is registered together with the framework hooks, so whoever holds it knows the hooks are in place:
 * the plugin runtime takes it as a mandatory reference and does not install plugins without it.
 */
@ProviderType
public interface Confinement {
    /**
     * Service property of this service: the configurations of the sandbox (its own PID and its tiers') applied to its
     * rules that carried a {@link #REVISION_PROPERTY}, each as {@code <pid>=<revision>} (String[]). The registration
     * is modified each time one is applied, so whoever needs the rules in force before a plugin resolves (the plugin
     * host's agent, ADR 31) can wait for its event.
     *
     * @since 1.2
     */
    String APPLIED_PROPERTY = "parley.sandbox.applied";

    /**
     * Property of a sandbox configuration naming its revision; once the rules it holds are in force, the revision is
     * among {@link #APPLIED_PROPERTY}.
     *
     * @since 1.2
     */
    String REVISION_PROPERTY = "parley.sandbox.revision";

    /** Whether the sandbox treats {@code bundle} as a plugin. */
    boolean confined(Bundle bundle);

    /**
     * What the sandbox refused {@code bundle} since it was installed or last updated, oldest first, each a sentence
     * such as "may not import package org.h2.tools: it is not in the sandbox's allowed packages"; empty when nothing
     * was refused.
     */
    List<String> refusals(Bundle bundle);

    /**
     * How many calls of {@code bundle}'s code the run-time checks refused (or, in a tier that only reports, let
     * through) since it was installed or last updated, by rule ({@code exit}, {@code process}, {@code environment},
     * {@code network}, {@code file}, {@code thread}, {@code reflection}); empty when none. The first of each rule is
     * also among {@link #refusals}.
     *
     * @since 1.1
     */
    Map<String, Long> refusedCalls(Bundle bundle);
}
