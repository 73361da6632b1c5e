package dev.parley.logging.internal;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.metatype.annotations.Designate;
import org.slf4j.LoggerFactory;

/**
 * The levels of Logback's loggers in this process: set from configuration ({@link LoggingConfig}) when it arrives or
 * changes, and changed one by one through the admin API. A change through the API lasts until the next start, or
 * until a configuration change names the same logger.
 */
@Component(service = LogLevels.class, immediate = true, configurationPid = LoggingConfig.PID)
@Designate(ocd = LoggingConfig.class)
public class LogLevels {
    private static final org.slf4j.Logger LOG = LoggerFactory.getLogger(LogLevels.class);

    private final LoggerContext context;
    /** The root level before any configuration applied here: what an empty {@code rootLevel} means. */
    private final Level startRootLevel;
    /** Loggers the current configuration names; those it stops naming inherit again. */
    private final Set<String> configured = new HashSet<>();
    private Level configuredRootLevel;

    @Activate
    public LogLevels(LoggingConfig config) {
        this(logbackContext(), config);
    }

    LogLevels(LoggerContext context, LoggingConfig config) {
        this.context = context;
        this.startRootLevel = context.getLogger(Logger.ROOT_LOGGER_NAME).getLevel();
        this.configuredRootLevel = startRootLevel;
        modified(config);
    }

    private static LoggerContext logbackContext() {
        if (LoggerFactory.getILoggerFactory() instanceof LoggerContext logback) {
            return logback;
        }
        throw new IllegalStateException("SLF4J is not bound to Logback but to "
                + LoggerFactory.getILoggerFactory().getClass().getName() + "; log levels cannot be changed");
    }

    @Modified
    synchronized void modified(LoggingConfig config) {
        LevelEntries entries = LevelEntries.parse(config.levels());
        entries.problems().forEach(p -> LOG.warn("log level entry ignored pid={} reason=\"{}\"", LoggingConfig.PID, p));
        Level root = startRootLevel;
        String rootLevel = config.rootLevel();
        if (rootLevel != null && !rootLevel.isBlank()) {
            try {
                root = LogLevel.parse(rootLevel).logback();
            } catch (IllegalArgumentException e) {
                LOG.warn("root level ignored pid={} reason=\"{}\"", LoggingConfig.PID, e.getMessage());
                root = configuredRootLevel;
            }
        }
        for (String name : configured) {
            if (!entries.levels().containsKey(name) && !name.equals(LoggerNames.ROOT)) {
                context.getLogger(name).setLevel(null);
            }
        }
        configured.clear();
        configuredRootLevel = root;
        context.getLogger(Logger.ROOT_LOGGER_NAME).setLevel(root);
        entries.levels().forEach((name, level) -> {
            if (name.equals(LoggerNames.ROOT)) {
                configuredRootLevel = level.logback();
            }
            context.getLogger(name).setLevel(level.logback());
            configured.add(name);
        });
        LOG.info("log levels applied root={} loggers={}", configuredRootLevel, entries.levels().size());
    }

    /** Every logger that has a level of its own, root first. */
    List<LoggerView> configured() {
        return context.getLoggerList().stream().filter(l -> l.getLevel() != null).map(LogLevels::view).toList();
    }

    Level rootLevel() {
        return context.getLogger(Logger.ROOT_LOGGER_NAME).getLevel();
    }

    /** The logger {@code name} (valid, see {@link LoggerNames}); an unknown one is shown without creating it. */
    LoggerView view(String name) {
        String n = LoggerNames.normalize(name);
        Logger existing = context.exists(n);
        if (existing != null) {
            return view(existing);
        }
        return new LoggerView(n, null, effectiveLevelOfUnknown(n).toString());
    }

    /**
     * Sets the level of {@code name}; {@code null} makes it inherit its parent's again, and gives the root logger the
     * level configuration gave it. Validates before it changes anything.
     */
    LoggerView set(String name, LogLevel level) {
        String n = LoggerNames.normalize(name);
        synchronized (this) {
            Logger logger = context.getLogger(n);
            Level before = logger.getLevel();
            Level after = level != null ? level.logback() : n.equals(LoggerNames.ROOT) ? configuredRootLevel : null;
            logger.setLevel(after);
            LOG.info("log level changed logger={} from={} to={}", n, before == null ? "inherited" : before,
                    after == null ? "inherited" : after);
            return view(logger);
        }
    }

    private Level effectiveLevelOfUnknown(String name) {
        String n = name;
        for (int dot = n.lastIndexOf('.'); dot > 0; dot = n.lastIndexOf('.')) {
            n = n.substring(0, dot);
            Logger parent = context.exists(n);
            if (parent != null) {
                return parent.getEffectiveLevel();
            }
        }
        return context.getLogger(Logger.ROOT_LOGGER_NAME).getEffectiveLevel();
    }

    private static LoggerView view(Logger logger) {
        return new LoggerView(logger.getName(), logger.getLevel() == null ? null : logger.getLevel().toString(),
                logger.getEffectiveLevel().toString());
    }
}
