package dev.parley.budgets.internal;

import dev.parley.db.Database;
import dev.parley.db.SqlWork;
import java.lang.annotation.Annotation;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import javax.sql.DataSource;

/** Test doubles for what the component talks to besides the database: clock and configuration. */
final class TestSupport {
    private TestSupport() {
    }

    static BudgetsConfig config(int cacheSeconds) {
        return config(cacheSeconds, 90, 0, 1000);
    }

    static BudgetsConfig config(int cacheSeconds, int retentionDays, int purgeIntervalSeconds, int purgeBatchSize) {
        return new BudgetsConfig() {
            @Override
            public Class<? extends Annotation> annotationType() {
                return BudgetsConfig.class;
            }

            @Override
            public int cacheSeconds() {
                return cacheSeconds;
            }

            @Override
            public int cacheMaxTenants() {
                return 10_000;
            }

            @Override
            public int spendRetentionDays() {
                return retentionDays;
            }

            @Override
            public int purgeIntervalSeconds() {
                return purgeIntervalSeconds;
            }

            @Override
            public int purgeBatchSize() {
                return purgeBatchSize;
            }
        };
    }

    static final class MutableClock extends Clock {
        private volatile Instant now;

        MutableClock(Instant now) {
            this.now = now;
        }

        void advance(Duration d) {
            now = now.plus(d);
        }

        void set(Instant at) {
            now = at;
        }

        @Override
        public Instant instant() {
            return now;
        }

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }
    }

    /** The real database, counting the transactions run through it. */
    static final class CountingDatabase implements Database {
        private final Database delegate;
        final AtomicInteger transactions = new AtomicInteger();

        CountingDatabase(Database delegate) {
            this.delegate = delegate;
        }

        @Override
        public <T> T inTransaction(String action, SqlWork<T> work) {
            transactions.incrementAndGet();
            return delegate.inTransaction(action, work);
        }

        @Override
        public void migrate(String module, ClassLoader loader, String location, List<String> files) {
            delegate.migrate(module, loader, location, files);
        }

        @Override
        public String dialect() {
            return delegate.dialect();
        }

        @Override
        public DataSource dataSource() {
            return delegate.dataSource();
        }
    }
}
