package dev.parley.sandbox;

import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * What admission decided about a plugin jar.
 *
 * @param tier          the tier its publisher is in; null when it is in none (then it is refused)
 * @param admitted      whether it may be installed
 * @param refusals      why not (empty when admitted), each naming the rule and, for code, the class and method
 * @param reported      uses the tier reports without refusing (the first {@link BytecodeScanner.Limits#maxFindings})
 * @param reportedCount how many uses were reported, by rule (all of them, not only those listed)
 * @param scan          what the bytecode scan read, and how long it took
 */
public record AdmissionReport(String pluginId, String version, String publisher, Tier tier, boolean admitted,
        List<Finding> refusals, List<Finding> reported, Map<String, Integer> reportedCount, Scan scan) {

    /**
     * @param done    whether the bytecode was scanned (not when the tier only reports and no scan was asked for)
     * @param classes class files read, embedded jars included
     * @param jars    jars read: the plugin and the jars inside it
     * @param bytes   bytes inflated
     * @param millis  how long the scan took
     */
    public record Scan(boolean done, int classes, int jars, long bytes, long millis) {
        public static final Scan NONE = new Scan(false, 0, 0, 0, 0);
    }

    public AdmissionReport {
        refusals = List.copyOf(refusals);
        reported = List.copyOf(reported);
        reportedCount = Map.copyOf(reportedCount);
    }

    /** The refusals, one per line (at most {@code max}, then how many more), for a problem's detail. */
    public String reason(int max) {
        String shown = refusals.stream().limit(max).map(Finding::describe).collect(Collectors.joining("; "));
        return refusals.size() > max ? shown + "; and " + (refusals.size() - max) + " more" : shown;
    }
}
