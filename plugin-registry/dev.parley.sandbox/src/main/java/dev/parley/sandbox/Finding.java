package dev.parley.sandbox;

/**
 * Why admission refuses a plugin, or what it reports: a rule, and where in the plugin it applies.
 *
 * @param rule      the rule id ({@link ScanRules} for code; {@code publisher}, {@code import}, {@code permission},
 *                  {@code manifest}, {@code scan-limit} for the rest)
 * @param title     what the rule guards against, for admins
 * @param className the class (dotted) that uses what the rule names; null for a finding about the manifest or jar
 * @param method    the method of that class, e.g. {@code activate(org.osgi.framework.BundleContext)}; null if none
 * @param target    what is used, e.g. {@code java.lang.System.exit(int)}, or the package, permission, limit
 * @param jar       the embedded jar the class is in (e.g. {@code lib/okhttp.jar}); null for the plugin's own classes
 */
public record Finding(String rule, String title, String className, String method, String target, String jar) {

    /** One line naming the rule, the class and method, and what is used. */
    public String describe() {
        StringBuilder sb = new StringBuilder("rule ").append(rule).append(" (").append(title).append(")");
        if (className != null) {
            sb.append(": ").append(className);
            if (method != null) {
                sb.append('.').append(method);
            }
            if (jar != null) {
                sb.append(" in ").append(jar);
            }
            if (target != null) {
                sb.append(" uses ").append(target);
            }
        } else if (target != null) {
            sb.append(": ").append(target);
        }
        return sb.toString();
    }
}
