package dev.parley.budgets.internal;

import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.Locale;

/** How long a budget lasts before it renews: a calendar day or month in UTC. */
enum Period {
    DAY("day", "daily"),
    MONTH("month", "monthly");

    private final String slug;
    private final String adjective;

    Period(String slug, String adjective) {
        this.slug = slug;
        this.adjective = adjective;
    }

    String slug() {
        return slug;
    }

    String adjective() {
        return adjective;
    }

    /** The start of the period {@code now} falls in. */
    Instant start(Instant now) {
        LocalDate day = LocalDate.ofInstant(now, ZoneOffset.UTC);
        LocalDate first = this == DAY ? day : day.withDayOfMonth(1);
        return first.atStartOfDay(ZoneOffset.UTC).toInstant();
    }

    /** The end of the period that starts at {@code start}: the next one's start. */
    Instant end(Instant start) {
        LocalDate first = LocalDate.ofInstant(start, ZoneOffset.UTC);
        return (this == DAY ? first.plusDays(1) : first.plusMonths(1)).atStartOfDay(ZoneOffset.UTC).toInstant();
    }

    static Period of(String slug) {
        if (slug == null) {
            return null;
        }
        for (Period p : values()) {
            if (p.slug.equals(slug.strip().toLowerCase(Locale.ROOT))) {
                return p;
            }
        }
        return null;
    }
}
