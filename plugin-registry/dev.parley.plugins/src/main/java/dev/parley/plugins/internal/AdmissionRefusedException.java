package dev.parley.plugins.internal;

import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.sandbox.AdmissionReport;

/** The admin API's refusal of an install or upgrade at admission (422), with the report for the audit trail. */
final class AdmissionRefusedException extends ParleyException {
    private static final long serialVersionUID = 1L;

    private final transient AdmissionReport report;

    AdmissionRefusedException(String message, AdmissionReport report) {
        super(ErrorCode.PLUGIN_REJECTED, message);
        this.report = report;
    }

    AdmissionReport report() {
        return report;
    }
}
