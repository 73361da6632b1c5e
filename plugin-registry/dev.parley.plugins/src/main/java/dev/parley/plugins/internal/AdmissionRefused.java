package dev.parley.plugins.internal;

import dev.parley.sandbox.AdmissionReport;

/** A plugin version the sandbox's admission refused before anything was installed; the report says why. */
final class AdmissionRefused extends PluginRejected {
    private static final long serialVersionUID = 1L;
    /** Refusals named in a message; the report holds all of them. */
    static final int SHOWN = 5;

    private final transient AdmissionReport report;

    AdmissionRefused(AdmissionReport report) {
        super("refused at admission" + (report.tier() == null ? "" : " (tier " + report.tier().slug() + ")") + ": "
                + report.reason(SHOWN));
        this.report = report;
    }

    AdmissionReport report() {
        return report;
    }
}
