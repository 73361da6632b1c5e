package dev.parley.sandbox.hooks.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * Names that a list of patterns allows: {@code a.b} allows exactly {@code a.b}; {@code a.b.*} allows {@code a.b} and
 * every name under it ({@code a.b.c}, {@code a.b.c.d}); {@code *} allows everything. Used for package names and for
 * service interface names.
 */
final class Patterns {
    static final Patterns NONE = new Patterns(List.of());

    private final Set<String> exact = new TreeSet<>();
    /** The part before {@code .*}, e.g. {@code a.b} for {@code a.b.*}. */
    private final List<String> prefixes = new ArrayList<>();
    private final boolean all;
    private final List<String> source;

    private Patterns(List<String> patterns) {
        boolean any = false;
        for (String p : patterns) {
            if (p.equals("*")) {
                any = true;
            } else if (p.endsWith(".*")) {
                prefixes.add(p.substring(0, p.length() - 2));
            } else {
                exact.add(p);
            }
        }
        this.all = any;
        this.source = List.copyOf(patterns);
    }

    /**
     * The patterns in {@code values}, blanks dropped and each stripped.
     *
     * @throws IllegalArgumentException naming the first entry that is not a name, {@code name.*} or {@code *}
     */
    static Patterns of(String... values) {
        List<String> out = new ArrayList<>();
        for (String v : values == null ? new String[0] : values) {
            String p = v == null ? "" : v.strip();
            if (p.isEmpty()) {
                continue;
            }
            String name = p.endsWith(".*") ? p.substring(0, p.length() - 2) : p;
            if (!p.equals("*") && !validName(name)) {
                throw new IllegalArgumentException("'" + p + "' is not a name, a name followed by .*, or *");
            }
            out.add(p);
        }
        return new Patterns(out);
    }

    private static boolean validName(String name) {
        if (name.isEmpty() || name.startsWith(".") || name.endsWith(".") || name.contains("..")) {
            return false;
        }
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (c != '.' && c != '$' && !Character.isJavaIdentifierPart(c)) {
                return false;
            }
        }
        return true;
    }

    boolean allows(String name) {
        if (all || exact.contains(name)) {
            return true;
        }
        for (String prefix : prefixes) {
            if (name.startsWith(prefix) && (name.length() == prefix.length() || name.charAt(prefix.length()) == '.')) {
                return true;
            }
        }
        return false;
    }

    /** Whether every one of {@code names} is allowed (none given: false). */
    boolean allowsAll(String[] names) {
        if (names == null || names.length == 0) {
            return false;
        }
        for (String n : names) {
            if (!allows(n)) {
                return false;
            }
        }
        return true;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Patterns p && p.source.equals(source);
    }

    @Override
    public int hashCode() {
        return source.hashCode();
    }

    @Override
    public String toString() {
        return String.join(", ", source);
    }
}
