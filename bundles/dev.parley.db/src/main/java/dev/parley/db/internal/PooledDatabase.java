package dev.parley.db.internal;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.db.Database;
import dev.parley.db.SqlWork;
import io.opentelemetry.api.OpenTelemetry;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;
import javax.sql.DataSource;
import org.apache.felix.hc.api.HealthCheck;
import org.apache.felix.hc.api.Result;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.metatype.annotations.Designate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@link Database}: one HikariCP pool on embedded H2 (the default, a file under the data directory) or PostgreSQL,
 * the transactions and migrations of every platform bundle, and the readiness check that the database answers. It
 * reports its pool's connections through the {@link OpenTelemetry} service when there is one ({@link PoolTelemetry}).
 *
 * <p>The readiness check keeps the name "Parley store", the name readiness has waited for (web.rest's
 * {@code requiredReadyChecks}) since the store held the pool.
 */
@Component(name = "dev.parley.db", configurationPid = DatabaseConfig.PID,
        configurationPolicy = ConfigurationPolicy.OPTIONAL, immediate = true,
        service = { Database.class, HealthCheck.class },
        property = { HealthCheck.NAME + "=Parley store", HealthCheck.TAGS + "=ready" })
@Designate(ocd = DatabaseConfig.class)
public final class PooledDatabase implements Database, HealthCheck, AutoCloseable {
    /** The framework property naming Parley's data directory. */
    public static final String DATA_DIR_PROPERTY = "parley.data.dir";
    /** The pool's name, which its threads carry. */
    public static final String POOL_NAME = "parley-db";

    private static final Logger LOG = LoggerFactory.getLogger(PooledDatabase.class);
    private static final int HEALTH_QUERY_TIMEOUT_SECONDS = 2;

    private final Dialect dialect;
    private final HikariDataSource pool;
    private final Migrator migrator;
    /** H2 has no lock that spans connections; the embedded database belongs to this process, so this lock does. */
    private final ReentrantLock migrationLock = new ReentrantLock();
    /** Swapped whole when the OpenTelemetry service comes or goes. */
    private volatile PoolTelemetry telemetry;

    @Activate
    public PooledDatabase(DatabaseConfig config, BundleContext context) {
        this(jdbcUrl(config.url(), context.getProperty(DATA_DIR_PROPERTY)), config.user(), config._password(),
                config.poolSize(), config.connectionTimeoutMs());
    }

    /**
     * Opens the pool and waits (up to the timeout) for the database to answer. Public for tests of the bundles that
     * use the database, which run it as the framework would.
     *
     * @throws ParleyException STORE_FAILURE for an unsupported URL or a database that does not answer; the message
     *                         names neither the URL nor the credentials
     */
    public PooledDatabase(String url, String user, String password, int poolSize, int connectionTimeoutMs) {
        this.dialect = Dialect.of(url);
        this.pool = openPool(url, user == null ? "" : user, password == null ? "" : password, poolSize,
                connectionTimeoutMs);
        this.migrator = new Migrator(dialect, Clock.systemUTC());
        this.telemetry = new PoolTelemetry(OpenTelemetry.noop(), pool);
        LOG.info("Database ready dialect={} poolSize={}", dialect.label(), pool.getMaximumPoolSize());
    }

    /** An empty URL means the embedded database under the data directory. */
    public static String jdbcUrl(String configured, String dataDir) {
        String url = configured == null ? "" : configured.strip();
        if (!url.isEmpty()) {
            return url;
        }
        Path file = Path.of(dataDir == null || dataDir.isBlank() ? "./data" : dataDir, "db", "parley");
        // H2 waits only one second for a row lock by default; concurrent appends to one conversation queue on it.
        // DB_CLOSE_ON_EXIT=FALSE: on SIGTERM H2's own JVM shutdown hook would close the database while the framework
        // is still stopping bundles, so what they write on the way out (usage records, plugin start records) failed.
        // The database closes when this pool closes, the last step of the shutdown.
        return "jdbc:h2:file:" + file.toAbsolutePath().normalize() + ";LOCK_TIMEOUT=10000;DB_CLOSE_ON_EXIT=FALSE";
    }

    private HikariDataSource openPool(String url, String user, String password, int poolSize, int connectionTimeoutMs) {
        var hikari = new HikariConfig();
        hikari.setPoolName(POOL_NAME);
        hikari.setDataSource(dialect.dataSource(url, user, password));
        hikari.setMaximumPoolSize(Math.max(1, poolSize));
        long timeout = Math.max(250, connectionTimeoutMs);
        hikari.setConnectionTimeout(timeout);
        hikari.setInitializationFailTimeout(timeout);
        hikari.setValidationTimeout(Math.min(timeout, 1000));
        hikari.setAutoCommit(false);
        hikari.setRegisterMbeans(false);
        try {
            return new HikariDataSource(hikari);
        } catch (RuntimeException e) {
            // The cause may carry host names or user names: it goes to the log, not into the message.
            LOG.error("Cannot connect to the database dialect={}", dialect.label(), e);
            throw new ParleyException(ErrorCode.STORE_FAILURE, "Cannot connect to the Parley database", e);
        }
    }

    /**
     * Optional and dynamic: the database must not restart (and with it every bundle that uses it) when the
     * observability bundle comes or goes; greedy, so a replacement service is taken at once.
     */
    @Reference(service = OpenTelemetry.class, cardinality = ReferenceCardinality.OPTIONAL,
            policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY,
            unbind = "unbindOpenTelemetry")
    synchronized void bindOpenTelemetry(OpenTelemetry otel) {
        PoolTelemetry previous = telemetry;
        telemetry = new PoolTelemetry(otel, pool);
        previous.close();
    }

    synchronized void unbindOpenTelemetry(OpenTelemetry otel) {
        // A greedy replacement binds the new service before it unbinds the old one: then there is nothing to undo.
        PoolTelemetry current = telemetry;
        if (current.recordsTo(otel)) {
            telemetry = new PoolTelemetry(OpenTelemetry.noop(), pool);
            current.close();
        }
    }

    @Deactivate
    @Override
    public void close() {
        telemetry.close();
        pool.close();
        LOG.info("Database closed dialect={}", dialect.label());
    }

    @Override
    public <T> T inTransaction(String action, SqlWork<T> work) {
        try (Connection c = pool.getConnection()) {
            try {
                T result = work.run(c);
                c.commit();
                return result;
            } catch (SQLException | RuntimeException e) {
                try {
                    c.rollback();
                } catch (SQLException suppressed) {
                    e.addSuppressed(suppressed);
                }
                throw e;
            }
        } catch (SQLException e) {
            LOG.warn("Store operation failed action=\"{}\" dialect={} sqlState={} vendorCode={}", action,
                    dialect.label(), e.getSQLState(), e.getErrorCode());
            LOG.debug("Store operation failure detail action=\"{}\"", action, e);
            throw new ParleyException(ErrorCode.STORE_FAILURE, "Could not " + action, e);
        }
    }

    @Override
    public void migrate(String module, ClassLoader loader, String location, List<String> files) {
        if (module == null || module.isBlank() || module.length() > 200) {
            throw new IllegalArgumentException("A migration module is a name of 1 to 200 characters");
        }
        var migrations = Migrator.load(loader, location, files);
        migrationLock.lock();
        try {
            int applied = inTransaction("migrate the schema of " + module,
                    c -> migrator.migrate(c, module, migrations));
            LOG.info("Schema up to date module={} applied={} dialect={}", module, applied, dialect.label());
        } finally {
            migrationLock.unlock();
        }
    }

    @Override
    public String dialect() {
        return dialect.label();
    }

    @Override
    public DataSource dataSource() {
        return pool;
    }

    /** Readiness: the database answers a trivial query within a couple of seconds. */
    @Override
    public Result execute() {
        try (Connection c = pool.getConnection(); Statement st = c.createStatement()) {
            st.setQueryTimeout(HEALTH_QUERY_TIMEOUT_SECONDS);
            try (ResultSet rs = st.executeQuery("SELECT 1")) {
                rs.next();
            }
            c.rollback();
            return new Result(Result.Status.OK, "Parley database (" + dialect.label() + ") answers");
        } catch (SQLException | RuntimeException e) {
            LOG.warn("Database health check failed dialect={} sqlState={}", dialect.label(),
                    e instanceof SQLException sql ? sql.getSQLState() : null);
            return new Result(Result.Status.CRITICAL, "Parley database (" + dialect.label()
                    + ") does not answer: " + e.getClass().getSimpleName());
        }
    }
}
