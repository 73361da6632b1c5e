package dev.parley.identity.apikeys.internal;

import dev.parley.api.audit.AuditEvent;
import dev.parley.api.audit.AuditLog;
import dev.parley.db.Database;
import dev.parley.db.SqlWork;
import java.lang.annotation.Annotation;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import javax.sql.DataSource;
import org.osgi.service.event.Event;
import org.osgi.service.event.EventAdmin;

/** Test doubles for what the component talks to besides the database: clock, configuration, events, audit. */
final class TestSupport {
    private TestSupport() {
    }

    static ApiKeysConfig config(int cacheSeconds, int maxExpiryDays, int lastUsedWriteSeconds) {
        return new ApiKeysConfig() {
            @Override
            public Class<? extends Annotation> annotationType() {
                return ApiKeysConfig.class;
            }

            @Override
            public int cacheSeconds() {
                return cacheSeconds;
            }

            @Override
            public int maxExpiryDays() {
                return maxExpiryDays;
            }

            @Override
            public int lastUsedWriteSeconds() {
                return lastUsedWriteSeconds;
            }

            @Override
            public int cacheMaxEntries() {
                return 10_000;
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

    static final class RecordingEvents implements EventAdmin {
        final List<Event> posted = new CopyOnWriteArrayList<>();

        @Override
        public void postEvent(Event event) {
            posted.add(event);
        }

        @Override
        public void sendEvent(Event event) {
            posted.add(event);
        }
    }

    static final class RecordingAudit implements AuditLog {
        final List<AuditEvent> events = new CopyOnWriteArrayList<>();

        @Override
        public void record(AuditEvent event) {
            events.add(event);
        }
    }
}
