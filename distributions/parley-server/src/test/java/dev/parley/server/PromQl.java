package dev.parley.server;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The metric names a PromQL expression selects, and the label names it matches on or groups by, found by a small
 * tokenizer: enough PromQL to tell a metric name from everything else, not a parser (promtool checks the syntax; see
 * {@code DashboardsAndAlertsTest}).
 *
 * <p>Hand-written because no well-kept Java PromQL parser is published: the only one on Maven Central is a single
 * 1.0.0 release by one author (io.github.oatelauser:promql-core), and Prometheus's own parser is Go. Extracting names
 * needs only the lexical rules, which change rarely.
 *
 * <p>A metric name is an identifier that is not a keyword or aggregation operator and is not followed by {@code (}
 * (a function call), or the value of a {@code __name__="..."} matcher, or (Prometheus 3) a quoted name standing alone
 * inside braces: {@code {"http.server.duration"}}. Skipped: string literals, everything inside {@code [...]} (ranges,
 * subquery steps), label matchers inside {@code {...}} and the label lists after {@code by}, {@code without},
 * {@code on}, {@code ignoring}, {@code group_left} and {@code group_right} (both collected as labels), numbers and
 * durations, comments, and Grafana's variables ({@code $name}, {@code ${name}}). A {@code __name__} matched by a regex
 * or by a negative matcher cannot be resolved to names: it is reported in {@link Names#unresolved()}.
 */
final class PromQl {
    private PromQl() {
    }

    /**
     * The metric names found, in order of first appearance; the label names the expression matches on or groups by
     * ({@code by}, {@code without}, {@code on}, {@code ignoring}, {@code group_left/right} lists); and the selectors
     * whose metric name could not be resolved.
     */
    record Names(Set<String> metrics, Set<String> labels, List<String> unresolved) {
    }

    private static final Set<String> LABEL_LIST_KEYWORDS = Set.of("by", "without", "on", "ignoring", "group_left",
            "group_right");
    private static final Set<String> KEYWORDS = Set.of("and", "or", "unless", "bool", "offset", "atan2", "inf", "nan");
    private static final Set<String> AGGREGATIONS = Set.of("sum", "avg", "count", "min", "max", "group", "stddev",
            "stdvar", "topk", "bottomk", "quantile", "count_values", "limitk", "limit_ratio");

    /** The metric names {@code expr} selects; throws {@link IllegalArgumentException} on unbalanced input. */
    static Names metricNames(String expr) {
        return new Scanner(expr).scan();
    }

    private static final Pattern LABEL_VALUES = Pattern.compile("(?s)^\\s*label_values\\s*\\((.*)\\)\\s*$");
    private static final Pattern QUERY_RESULT = Pattern.compile("(?s)^\\s*query_result\\s*\\((.*)\\)\\s*$");
    private static final Pattern LAST_ARGUMENT = Pattern.compile("(?s)^(.*),\\s*[a-zA-Z_][a-zA-Z0-9_]*\\s*$");

    /**
     * The metric names of a Grafana Prometheus variable query: {@code label_values(<selector>, <label>)},
     * {@code label_values(<label>)} (none), {@code query_result(<expr>)}, or a plain PromQL expression.
     */
    static Names variableQueryMetricNames(String query) {
        Matcher m = LABEL_VALUES.matcher(query);
        if (m.matches()) {
            Matcher selector = LAST_ARGUMENT.matcher(m.group(1));
            if (!selector.matches()) {
                return new Names(Set.of(), Set.of(m.group(1).trim()), List.of());
            }
            Names names = metricNames(selector.group(1));
            var labels = new LinkedHashSet<>(names.labels());
            labels.add(m.group(1).substring(m.group(1).lastIndexOf(',') + 1).trim());
            return new Names(names.metrics(), labels, names.unresolved());
        }
        m = QUERY_RESULT.matcher(query);
        return metricNames(m.matches() ? m.group(1) : query);
    }

    private static final class Scanner {
        private final String s;
        private int i;
        private final Set<String> names = new LinkedHashSet<>();
        private final Set<String> labels = new LinkedHashSet<>();
        private final List<String> unresolved = new ArrayList<>();

        Scanner(String s) {
            this.s = s;
        }

        Names scan() {
            int parens = 0;
            while (true) {
                skipSpaceAndComments();
                if (i >= s.length()) {
                    break;
                }
                char c = s.charAt(i);
                if (c == '"' || c == '\'' || c == '`') {
                    string();
                } else if (c == '[') {
                    skipBalanced('[', ']');
                } else if (c == '{') {
                    matchers();
                } else if (c == '$') {
                    grafanaVariable();
                } else if (isDigit(c) || (c == '.' && i + 1 < s.length() && isDigit(s.charAt(i + 1)))) {
                    number();
                } else if (isIdentifierStart(c)) {
                    identifier();
                } else if (c == '(') {
                    parens++;
                    i++;
                } else if (c == ')') {
                    if (--parens < 0) {
                        throw error("unbalanced ')'");
                    }
                    i++;
                } else if (c == ']' || c == '}') {
                    throw error("unbalanced '" + c + "'");
                } else {
                    i++; // operators, commas, '@'
                }
            }
            if (parens != 0) {
                throw error("unclosed '('");
            }
            return new Names(names, labels, unresolved);
        }

        private void identifier() {
            int start = i;
            while (i < s.length() && isIdentifierPart(s.charAt(i))) {
                i++;
            }
            String word = s.substring(start, i);
            String lower = word.toLowerCase(Locale.ROOT);
            if (LABEL_LIST_KEYWORDS.contains(lower)) {
                skipSpaceAndComments();
                if (i < s.length() && s.charAt(i) == '(') {
                    labelList();
                }
            } else if (KEYWORDS.contains(lower) || AGGREGATIONS.contains(lower)) {
                // an operator: its operands come next
            } else if (nextNonSpace() == '(') {
                // a function call: its arguments are scanned as they come
            } else {
                names.add(word);
            }
        }

        /** {@code {name op "value", ...}}: records {@code __name__="x"} and quoted names standing alone. */
        private void matchers() {
            int open = i++;
            while (true) {
                skipSpaceAndComments();
                if (i >= s.length()) {
                    i = open;
                    throw error("unclosed '{'");
                }
                char c = s.charAt(i);
                if (c == '}') {
                    i++;
                    return;
                }
                if (c == ',') {
                    i++;
                    continue;
                }
                int matcherStart = i;
                String label;
                if (c == '"' || c == '\'' || c == '`') {
                    label = string();
                    skipSpaceAndComments();
                    if (i >= s.length() || s.charAt(i) == ',' || s.charAt(i) == '}') {
                        names.add(label); // a quoted metric name
                        continue;
                    }
                } else if (isIdentifierStart(c)) {
                    int start = i;
                    while (i < s.length() && isIdentifierPart(s.charAt(i))) {
                        i++;
                    }
                    label = s.substring(start, i);
                } else {
                    throw error("expected a label matcher");
                }
                skipSpaceAndComments();
                String op = operator();
                skipSpaceAndComments();
                if (i >= s.length() || "\"'`".indexOf(s.charAt(i)) < 0) {
                    throw error("expected a string after " + label + op);
                }
                String value = string();
                if (label.equals("__name__")) {
                    if (op.equals("=")) {
                        names.add(value);
                    } else {
                        unresolved.add(s.substring(matcherStart, i));
                    }
                } else {
                    labels.add(label);
                }
            }
        }

        /** {@code (a, b, "c")}: label names, bare or (Prometheus 3) quoted. */
        private void labelList() {
            int open = i++;
            while (true) {
                skipSpaceAndComments();
                if (i >= s.length()) {
                    i = open;
                    throw error("unclosed '('");
                }
                char c = s.charAt(i);
                if (c == ')') {
                    i++;
                    return;
                }
                if (c == ',') {
                    i++;
                } else if (c == '"' || c == '\'' || c == '`') {
                    labels.add(string());
                } else if (isIdentifierStart(c)) {
                    int start = i;
                    while (i < s.length() && isIdentifierPart(s.charAt(i))) {
                        i++;
                    }
                    labels.add(s.substring(start, i));
                } else {
                    throw error("expected a label name");
                }
            }
        }

        private String operator() {
            for (String op : new String[] { "=~", "!~", "!=", "=" }) {
                if (s.startsWith(op, i)) {
                    i += op.length();
                    return op;
                }
            }
            throw error("expected =, !=, =~ or !~");
        }

        /** Reads a string literal and returns its value (escapes resolved loosely: enough for names). */
        private String string() {
            char quote = s.charAt(i);
            int open = i++;
            var value = new StringBuilder();
            while (i < s.length()) {
                char c = s.charAt(i++);
                if (c == quote) {
                    return value.toString();
                }
                if (c == '\\' && quote != '`' && i < s.length()) {
                    c = s.charAt(i++);
                }
                value.append(c);
            }
            i = open;
            throw error("unterminated string");
        }

        private void skipBalanced(char open, char close) {
            int start = i;
            int depth = 0;
            while (i < s.length()) {
                char c = s.charAt(i);
                if (c == '"' || c == '\'' || c == '`') {
                    string();
                    continue;
                }
                i++;
                if (c == open) {
                    depth++;
                } else if (c == close && --depth == 0) {
                    return;
                }
            }
            i = start;
            throw error("unclosed '" + open + "'");
        }

        /** {@code $name}, {@code ${name}} or {@code ${name:format}}. */
        private void grafanaVariable() {
            i++;
            if (i < s.length() && s.charAt(i) == '{') {
                int close = s.indexOf('}', i);
                if (close < 0) {
                    throw error("unclosed '${'");
                }
                i = close + 1;
                return;
            }
            while (i < s.length() && isIdentifierPart(s.charAt(i))) {
                i++;
            }
        }

        /** A number (1, 0.5, 1e-3, 0x1f) or a duration (5m, 1h30m). */
        private void number() {
            boolean hex = s.startsWith("0x", i) || s.startsWith("0X", i);
            while (i < s.length()) {
                char c = s.charAt(i);
                if (Character.isLetterOrDigit(c) || c == '.' || c == '_') {
                    i++;
                } else if ((c == '+' || c == '-') && !hex && (s.charAt(i - 1) == 'e' || s.charAt(i - 1) == 'E')
                        && i + 1 < s.length() && isDigit(s.charAt(i + 1))) {
                    i++;
                } else {
                    break;
                }
            }
        }

        private char nextNonSpace() {
            int saved = i;
            skipSpaceAndComments();
            char c = i < s.length() ? s.charAt(i) : 0;
            i = saved;
            return c;
        }

        private void skipSpaceAndComments() {
            while (i < s.length()) {
                char c = s.charAt(i);
                if (Character.isWhitespace(c)) {
                    i++;
                } else if (c == '#') {
                    while (i < s.length() && s.charAt(i) != '\n') {
                        i++;
                    }
                } else {
                    return;
                }
            }
        }

        private IllegalArgumentException error(String what) {
            return new IllegalArgumentException(what + " at " + i + " in: " + s);
        }

        private static boolean isDigit(char c) {
            return c >= '0' && c <= '9';
        }

        private static boolean isIdentifierStart(char c) {
            return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
        }

        private static boolean isIdentifierPart(char c) {
            return isIdentifierStart(c) || isDigit(c);
        }
    }
}
