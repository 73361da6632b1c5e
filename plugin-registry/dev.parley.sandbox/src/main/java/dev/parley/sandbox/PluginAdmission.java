package dev.parley.sandbox;

import org.osgi.annotation.versioning.ProviderType;

/**
 * Admission of a plugin jar before it is installed, by the policy of its publisher's tier: the publisher is in a
 * tier and owns the plugin id; the manifest read through the jar's central directory (what the framework reads) says
 * what the descriptor says; every permission it declares may be granted in the tier; every package it imports is on
 * the tier's allow-list; and no class, embedded jars included, uses what its declared permissions do not cover
 * ({@link ScanRules}), unless the tier only reports that.
 */
@ProviderType
public interface PluginAdmission {

    /** Never throws for a bad jar: what is wrong with it is a refusal in the report. */
    AdmissionReport admit(byte[] jar, AdmissionRequest request);
}
