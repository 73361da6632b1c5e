package dev.parley.config.internal;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This process's node name, one for every component that needs it: the plugin runtime reports per-node plugin
 * status under it and the store tags the answers this node streams with it, so that crash recovery of one node never
 * touches answers another node sharing the database is streaming. Configured ({@code PARLEY_NODE_ID}), or generated
 * once (host name + random suffix) and kept in the data directory, so a restarted node recovers its own answers.
 */
final class NodeIdentity {
    static final String FILE_NAME = "node-id";
    static final String KEY = "nodeId";
    /** The PIDs handed the node id; the first is where {@code PARLEY_NODE_ID} is mapped. */
    static final List<String> PIDS = List.of(ConfigurationSources.PLUGINS_PID, ConfigurationSources.STORE_PID);
    /** Database columns holding node ids are VARCHAR(200). */
    static final int MAX_LENGTH = 200;

    private static final Logger LOG = LoggerFactory.getLogger(NodeIdentity.class);
    private static final Pattern VALID = Pattern.compile("[\\p{Alnum}._:@-]{1," + MAX_LENGTH + "}");

    private NodeIdentity() {
    }

    /**
     * Resolves the node id from the {@code nodeId} values of {@link #PIDS} (the first one set wins) or from
     * {@code file}, and writes it into the configuration of every PID in {@link #PIDS}.
     *
     * @return the node id handed over
     */
    static String handOver(Map<String, Map<String, Object>> byPid, Path file) {
        String configured = null;
        String from = null;
        for (String pid : PIDS) {
            Map<String, Object> props = byPid.get(pid);
            Object value = props == null ? null : props.get(KEY);
            if (value == null || value.toString().isBlank()) {
                continue;
            }
            String id = value.toString().strip();
            if (configured == null) {
                configured = id;
                from = pid;
            } else if (!configured.equals(id)) {
                LOG.warn("node id set twice, one is used for the whole process used={} from={} ignored={} pid={}",
                        configured, from, id, pid);
            }
        }
        if (configured != null && !VALID.matcher(configured).matches()) {
            LOG.error("node id ignored reason=\"must be 1 to {} letters, digits or . _ : @ -\" configured=\"{}\" "
                    + "hint=\"fix PARLEY_NODE_ID; until then this node uses the id kept in {}\"", MAX_LENGTH,
                    configured.length() > MAX_LENGTH ? configured.substring(0, MAX_LENGTH) + "…" : configured, file);
            configured = null;
        }
        String id = resolve(configured, file);
        for (String pid : PIDS) {
            byPid.computeIfAbsent(pid, k -> new LinkedHashMap<>()).put(KEY, id);
        }
        return id;
    }

    /** {@code configured} if set, else the id kept in {@code file}, created there at the first start. */
    static String resolve(String configured, Path file) {
        if (configured != null && !configured.isBlank()) {
            return configured.strip();
        }
        try {
            if (Files.isRegularFile(file)) {
                String id = Files.readString(file, StandardCharsets.UTF_8).strip();
                if (!id.isEmpty()) {
                    return id;
                }
            }
            String id = host() + "-" + UUID.randomUUID().toString().substring(0, 8);
            Files.createDirectories(file.toAbsolutePath().getParent());
            try {
                Files.writeString(file, id + "\n", StandardCharsets.UTF_8, StandardOpenOption.CREATE_NEW);
            } catch (FileAlreadyExistsException raced) {
                return Files.readString(file, StandardCharsets.UTF_8).strip();
            }
            LOG.info("node id created id={} file={}", id, file.toAbsolutePath());
            return id;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read or create the node id file " + file, e);
        }
    }

    private static String host() {
        try {
            String host = InetAddress.getLocalHost().getHostName().replaceAll("[^A-Za-z0-9.-]", "");
            // Room for the suffix within the column size.
            host = host.length() > MAX_LENGTH - 9 ? host.substring(0, MAX_LENGTH - 9) : host;
            return host.isEmpty() ? "node" : host;
        } catch (IOException e) {
            return "node";
        }
    }
}
