package dev.parley.streams.internal;

import dev.parley.api.stream.StreamEntry;
import dev.parley.api.stream.StreamFollower;
import dev.parley.api.stream.StreamLog;
import dev.parley.api.stream.StreamWriter;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.metatype.annotations.Designate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@link StreamLog} service: in process ({@code store=local}, the default) or in Redis Streams
 * ({@code store=redis}), by PID {@code dev.parley.streams}. A change of configuration makes a new one; core picks
 * it up for the next turn.
 */
@Component(name = StreamLogConfig.PID, configurationPid = StreamLogConfig.PID,
        configurationPolicy = ConfigurationPolicy.OPTIONAL, immediate = true, service = StreamLog.class)
@Designate(ocd = StreamLogConfig.class)
public final class StreamLogService implements StreamLog {
    private static final Logger LOG = LoggerFactory.getLogger(StreamLogService.class);

    private final StreamLog log;
    private final AutoCloseable resources;

    @Activate
    public StreamLogService(StreamLogConfig config) {
        String kind = config.store().strip().toLowerCase(Locale.ROOT);
        switch (kind) {
            case "local" -> {
                LocalStreamLog local = new LocalStreamLog(TimeUnit.SECONDS.toNanos(config.retainSeconds()),
                        TimeUnit.SECONDS.toNanos(config.maxStreamSeconds()), System::nanoTime);
                ScheduledExecutorService sweeper = Executors.newSingleThreadScheduledExecutor(r -> {
                    Thread t = new Thread(r, "parley-streams-sweeper");
                    t.setDaemon(true);
                    return t;
                });
                sweeper.scheduleWithFixedDelay(local::sweep, 30, 30, TimeUnit.SECONDS);
                log = local;
                resources = sweeper::shutdownNow;
                LOG.info("Stream log in this process: a client resumes a stream on the node that produces it "
                        + "retainSeconds={}", config.retainSeconds());
            }
            case "redis" -> {
                RedisStreamLog redis = new RedisStreamLog(config.redisUri(), config._redisPassword(), config);
                log = redis;
                resources = redis;
            }
            default -> throw new IllegalArgumentException("Stream log store must be local or redis, got '"
                    + config.store() + "'");
        }
    }

    @Deactivate
    void deactivate() throws Exception {
        resources.close();
    }

    @Override
    public StreamWriter open(String streamId) {
        return log.open(streamId);
    }

    @Override
    public AutoCloseable follow(String streamId, long after, StreamFollower follower) {
        return log.follow(streamId, after, follower);
    }

    @Override
    public CompletionStage<List<StreamEntry>> entries(String streamId) {
        return log.entries(streamId);
    }

    @Override
    public boolean shared() {
        return log.shared();
    }
}
