package dev.parley.store.jdbc.internal;

import dev.parley.api.chat.Conversation;
import dev.parley.api.chat.MessageStatus;
import dev.parley.api.chat.NewConversation;
import dev.parley.api.chat.Page;
import dev.parley.api.chat.Role;
import dev.parley.api.chat.StoredMessage;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.Usage;
import dev.parley.api.store.ConversationStore;
import dev.parley.api.store.NewMessage;
import dev.parley.api.store.TenantConversations;
import dev.parley.db.Database;
import dev.parley.db.Sql;
import dev.parley.db.SqlWork;
import dev.parley.store.jdbc.internal.StoreTelemetry.Operation;
import io.opentelemetry.api.OpenTelemetry;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
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
 * {@link ConversationStore} in Parley's {@link Database} (embedded H2 by default, or PostgreSQL). It records each
 * call's duration through the {@link OpenTelemetry} service when there is one ({@link StoreTelemetry}), and runs
 * unmeasured without.
 */
@Component(name = StoreConfig.PID, configurationPid = StoreConfig.PID,
        configurationPolicy = ConfigurationPolicy.OPTIONAL, immediate = true, service = ConversationStore.class)
@Designate(ocd = StoreConfig.class)
public final class JdbcConversationStore implements ConversationStore {
    private static final Logger LOG = LoggerFactory.getLogger(JdbcConversationStore.class);
    private static final String CONVERSATION_COLUMNS = "id, title, model, system_prompt, created_at, updated_at";
    /** The width of {@code conversations.owner_subject}. */
    static final int MAX_OWNER = 255;
    private static final String MESSAGE_COLUMNS = "id, conversation_id, seq, role, content, status, model, "
            + "prompt_tokens, completion_tokens, error, latency_ms, ttft_ms, created_at";

    private final Database database;
    private final Clock clock;
    /** Tag of the answers this node streams; null when no node id is configured (answers stay untagged). */
    private final String nodeId;
    /** Swapped whole when the OpenTelemetry service comes or goes; read once per store call. */
    private volatile StoreTelemetry telemetry;

    @Activate
    public JdbcConversationStore(StoreConfig config, @Reference Database database) {
        this(config, database, Clock.systemUTC());
    }

    JdbcConversationStore(StoreConfig config, Database database, Clock clock) {
        this.database = database;
        this.clock = clock;
        this.nodeId = nodeId(config.nodeId());
        this.telemetry = new StoreTelemetry(OpenTelemetry.noop(), database.dialect());
        StoreSchema.migrate(database);
        LOG.info("Conversation store ready dialect={} node={}", database.dialect(), nodeId == null ? "-" : nodeId);
        if (nodeId == null && !"h2".equals(database.dialect())) {
            LOG.warn("Conversation store has no node id: answers are not tagged, so nodes sharing this database "
                    + "could mark each other's live answers interrupted at start; set PARLEY_NODE_ID");
        }
    }

    /** Node ids share the VARCHAR(200) columns of plugin status; a longer one would fail every streamed answer. */
    static String nodeId(String configured) {
        String id = configured == null ? "" : configured.strip();
        if (id.isEmpty()) {
            return null;
        }
        if (id.length() > 200) {
            throw new IllegalArgumentException("Store configuration nodeId is longer than 200 characters");
        }
        return id;
    }

    /**
     * Optional and dynamic: the store must not restart (and with it core) when the observability bundle comes or goes;
     * greedy, so a replacement service is taken at once.
     */
    @Reference(service = OpenTelemetry.class, cardinality = ReferenceCardinality.OPTIONAL,
            policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY,
            unbind = "unbindOpenTelemetry")
    synchronized void bindOpenTelemetry(OpenTelemetry otel) {
        telemetry = new StoreTelemetry(otel, database.dialect());
    }

    synchronized void unbindOpenTelemetry(OpenTelemetry otel) {
        // A greedy replacement binds the new service before it unbinds the old one: then there is nothing to undo.
        if (telemetry.recordsTo(otel)) {
            telemetry = new StoreTelemetry(OpenTelemetry.noop(), database.dialect());
        }
    }

    @Deactivate
    void deactivate() {
        LOG.info("Conversation store closed dialect={}", database.dialect());
    }

    @Override
    public TenantConversations tenant(String tenantId) {
        if (tenantId == null || tenantId.isBlank()) {
            throw new IllegalArgumentException("a tenant id is required");
        }
        return new Scoped(tenantId, null);
    }

    @Override
    public StoredMessage finish(String messageId, String content, MessageStatus status, Usage usage, String error,
            Duration latency, Duration timeToFirstToken) {
        return finish(messageId, content, status, null, usage, error, latency, timeToFirstToken);
    }

    @Override
    public StoredMessage finish(String messageId, String content, MessageStatus status, String model, Usage usage,
            String error, Duration latency, Duration timeToFirstToken) {
        if (status == null) {
            throw new ParleyException(ErrorCode.INVALID_REQUEST, "A finished message needs a status");
        }
        return measured(Operation.FINISH, "finish the message", c -> {
            try (PreparedStatement ps = c.prepareStatement("UPDATE messages SET content = ?, status = ?, "
                    + "model = COALESCE(?, model), prompt_tokens = ?, completion_tokens = ?, error = ?, latency_ms = ?, "
                    + "ttft_ms = ? WHERE id = ?")) {
                ps.setString(1, content == null ? "" : content);
                ps.setString(2, status.name());
                ps.setString(3, model);
                setNullableInt(ps, 4, usage == null ? null : usage.promptTokens());
                setNullableInt(ps, 5, usage == null ? null : usage.completionTokens());
                ps.setString(6, error);
                setNullableLong(ps, 7, latency == null ? null : latency.toMillis());
                setNullableLong(ps, 8, timeToFirstToken == null ? null : timeToFirstToken.toMillis());
                ps.setString(9, messageId);
                if (ps.executeUpdate() == 0) {
                    throw new ParleyException(ErrorCode.NOT_FOUND, "No message with id " + messageId);
                }
            }
            try (PreparedStatement ps = c.prepareStatement("SELECT " + MESSAGE_COLUMNS + " FROM messages WHERE id = ?")) {
                ps.setString(1, messageId);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    return message(rs);
                }
            }
        });
    }

    /** One conditional UPDATE: another node's end of the same answer, or the producer's own, wins if it came first. */
    @Override
    public StoredMessage interruptIfStreaming(String messageId, String content, String error) {
        return measured(Operation.FINISH, "interrupt the message", c -> {
            try (PreparedStatement ps = c.prepareStatement("UPDATE messages SET content = ?, status = ?, error = ? "
                    + "WHERE id = ? AND status = ?")) {
                ps.setString(1, content == null ? "" : content);
                ps.setString(2, MessageStatus.INTERRUPTED.name());
                ps.setString(3, error);
                ps.setString(4, messageId);
                ps.setString(5, MessageStatus.STREAMING.name());
                ps.executeUpdate();
            }
            try (PreparedStatement ps = c.prepareStatement("SELECT " + MESSAGE_COLUMNS + " FROM messages WHERE id = ?")) {
                ps.setString(1, messageId);
                try (ResultSet rs = ps.executeQuery()) {
                    if (!rs.next()) {
                        throw new ParleyException(ErrorCode.NOT_FOUND, "No message with id " + messageId);
                    }
                    return message(rs);
                }
            }
        });
    }

    /**
     * This node's answers still streaming, plus untagged ones (written before answers were tagged, or by a store
     * without a node id): the answers the crash recovery of this node may end. Another node's are never listed, as
     * that node may be streaming them right now.
     */
    @Override
    public List<StoredMessage> streaming() {
        return measured(Operation.STREAMING, "read the streaming messages", c -> nodeId == null
                ? queryMessages(c, "WHERE status = ? AND node_id IS NULL ORDER BY created_at, conversation_id, seq",
                        MessageStatus.STREAMING.name())
                : queryMessages(c, "WHERE status = ? AND (node_id = ? OR node_id IS NULL) "
                        + "ORDER BY created_at, conversation_id, seq", MessageStatus.STREAMING.name(), nodeId));
    }

    /**
     * One tenant's conversations, or one owner's in it: the tenant (and the owner) is in every statement, through
     * {@link #scope()} and {@link #bindScope}, so no query here can leave it out.
     */
    private final class Scoped implements TenantConversations {
        private final String tenantId;
        /** Null: the whole tenant's view. */
        private final String owner;

        Scoped(String tenantId, String owner) {
            this.tenantId = tenantId;
            this.owner = owner;
        }

        @Override
        public String tenantId() {
            return tenantId;
        }

        @Override
        public String ownerSubject() {
            return owner;
        }

        @Override
        public TenantConversations owner(String subject) {
            if (subject == null || subject.isBlank()) {
                throw new IllegalArgumentException("an owner subject is required");
            }
            if (subject.length() > MAX_OWNER) {
                throw new IllegalArgumentException("an owner subject is at most " + MAX_OWNER + " characters");
            }
            if (owner != null && !owner.equals(subject)) {
                throw new IllegalArgumentException("this view is already limited to another owner");
            }
            return owner != null ? this : new Scoped(tenantId, subject);
        }

        /** The condition on a conversations row: its tenant, and in an owner's view, that owner or none. */
        private String scope() {
            return owner == null ? "tenant_id = ?" : "tenant_id = ? AND (owner_subject = ? OR owner_subject IS NULL)";
        }

        /** Binds the parameters of {@link #scope()} from {@code index}; returns the next free index. */
        private int bindScope(PreparedStatement ps, int index) throws SQLException {
            ps.setString(index++, tenantId);
            if (owner != null) {
                ps.setString(index++, owner);
            }
            return index;
        }

        private Optional<Conversation> findConversation(Connection c, String id) throws SQLException {
            try (PreparedStatement ps = c.prepareStatement("SELECT " + CONVERSATION_COLUMNS
                    + " FROM conversations WHERE id = ? AND " + scope())) {
                ps.setString(1, id);
                bindScope(ps, 2);
                try (ResultSet rs = ps.executeQuery()) {
                    return rs.next() ? Optional.of(conversation(rs)) : Optional.empty();
                }
            }
        }

        @Override
        public Conversation create(NewConversation spec) {
            NewConversation s = spec == null ? new NewConversation(null, null, null) : spec;
            Instant now = now();
            var conversation = new Conversation(newId("conv_"), s.title(), s.model(), s.systemPrompt(), now, now);
            return measured(tenantId, Operation.CREATE, "create the conversation", c -> {
                try (PreparedStatement ps = c.prepareStatement("INSERT INTO conversations (" + CONVERSATION_COLUMNS
                        + ", tenant_id, owner_subject) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")) {
                    ps.setString(1, conversation.id());
                    ps.setString(2, conversation.title());
                    ps.setString(3, conversation.model());
                    ps.setString(4, conversation.systemPrompt());
                    ps.setObject(5, Sql.timestamp(now));
                    ps.setObject(6, Sql.timestamp(now));
                    ps.setString(7, tenantId);
                    ps.setString(8, owner);
                    ps.executeUpdate();
                }
                return conversation;
            });
        }

        @Override
        public Optional<Conversation> find(String id) {
            if (id == null) {
                return Optional.empty();
            }
            return measured(tenantId, Operation.FIND, "read the conversation", c -> findConversation(c, id));
        }

        @Override
        public Page<Conversation> list(int offset, int limit) {
            if (offset < 0 || limit < 1) {
                throw new ParleyException(ErrorCode.INVALID_REQUEST, "offset must be 0 or more and limit 1 or more");
            }
            return measured(tenantId, Operation.LIST, "list conversations", c -> {
                long total;
                try (PreparedStatement ps = c.prepareStatement(
                        "SELECT COUNT(*) FROM conversations WHERE " + scope())) {
                    bindScope(ps, 1);
                    try (ResultSet rs = ps.executeQuery()) {
                        rs.next();
                        total = rs.getLong(1);
                    }
                }
                var items = new ArrayList<Conversation>();
                try (PreparedStatement ps = c.prepareStatement("SELECT " + CONVERSATION_COLUMNS + " FROM conversations "
                        + "WHERE " + scope() + " ORDER BY updated_at DESC, id DESC LIMIT ? OFFSET ?")) {
                    int i = bindScope(ps, 1);
                    ps.setInt(i++, limit);
                    ps.setLong(i, offset);
                    try (ResultSet rs = ps.executeQuery()) {
                        while (rs.next()) {
                            items.add(conversation(rs));
                        }
                    }
                }
                return new Page<>(items, offset, limit, total);
            });
        }

        @Override
        public boolean delete(String id) {
            if (id == null) {
                return false;
            }
            return measured(tenantId, Operation.DELETE, "delete the conversation", c -> {
                try (PreparedStatement ps = c.prepareStatement(
                        "DELETE FROM conversations WHERE id = ? AND " + scope())) {
                    ps.setString(1, id);
                    bindScope(ps, 2);
                    return ps.executeUpdate() > 0;
                }
            });
        }

        @Override
        public StoredMessage append(String conversationId, Role role, String content, MessageStatus status,
                String model) {
            if (role == null || status == null) {
                throw new ParleyException(ErrorCode.INVALID_REQUEST, "A message needs a role and a status");
            }
            return append(Operation.APPEND, conversationId, List.of(new NewMessage(role, content, status, model))).get(0);
        }

        @Override
        public List<StoredMessage> appendAll(String conversationId, List<NewMessage> batch) {
            if (batch == null || batch.isEmpty()) {
                throw new ParleyException(ErrorCode.INVALID_REQUEST, "Nothing to append");
            }
            return append(Operation.APPEND_ALL, conversationId, List.copyOf(batch));
        }

        private List<StoredMessage> append(Operation op, String conversationId, List<NewMessage> toAppend) {
            return measured(tenantId, op, toAppend.size() == 1 ? "append the message" : "append the messages", c -> {
                // The row lock on the conversation serialises appends to it, so MAX(seq) + 1 is never handed out twice.
                try (PreparedStatement ps = c.prepareStatement(
                        "SELECT id FROM conversations WHERE id = ? AND " + scope() + " FOR UPDATE")) {
                    ps.setString(1, conversationId);
                    bindScope(ps, 2);
                    try (ResultSet rs = ps.executeQuery()) {
                        if (!rs.next()) {
                            throw conversationNotFound(conversationId);
                        }
                    }
                }
                long seq;
                try (PreparedStatement ps = c.prepareStatement(
                        "SELECT COALESCE(MAX(seq), 0) + 1 FROM messages WHERE conversation_id = ?")) {
                    ps.setString(1, conversationId);
                    try (ResultSet rs = ps.executeQuery()) {
                        rs.next();
                        seq = rs.getLong(1);
                    }
                }
                Instant now = now();
                List<StoredMessage> stored = new ArrayList<>(toAppend.size());
                // One batch: a turn's user message and answer row go to the database in one round trip.
                try (PreparedStatement ps = c.prepareStatement("INSERT INTO messages (id, conversation_id, seq, role, "
                        + "content, status, model, created_at, node_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
                    for (NewMessage m : toAppend) {
                        var message = new StoredMessage(newId("msg_"), conversationId, seq++, m.role(), m.content(),
                                m.status(), m.model(), null, null, null, null, now);
                        ps.setString(1, message.id());
                        ps.setString(2, conversationId);
                        ps.setLong(3, message.seq());
                        ps.setString(4, m.role().name());
                        ps.setString(5, message.content());
                        ps.setString(6, m.status().name());
                        ps.setString(7, m.model());
                        ps.setObject(8, Sql.timestamp(now));
                        // Who streams the answer: crash recovery of this node (and of no other) may interrupt it.
                        ps.setString(9, m.status() == MessageStatus.STREAMING ? nodeId : null);
                        ps.addBatch();
                        stored.add(message);
                    }
                    ps.executeBatch();
                }
                try (PreparedStatement ps = c.prepareStatement("UPDATE conversations SET updated_at = ? WHERE id = ?")) {
                    ps.setObject(1, Sql.timestamp(now));
                    ps.setString(2, conversationId);
                    ps.executeUpdate();
                }
                return List.copyOf(stored);
            });
        }

        @Override
        public List<StoredMessage> messages(String conversationId) {
            return measured(tenantId, Operation.MESSAGES, "read the messages", c -> {
                // Through the conversation: another tenant's (or owner's) messages are never read, even by a known id.
                String where = "WHERE conversation_id = (SELECT id FROM conversations WHERE id = ? AND " + scope()
                        + ") ORDER BY seq";
                var result = owner == null ? queryMessages(c, where, conversationId, tenantId)
                        : queryMessages(c, where, conversationId, tenantId, owner);
                if (result.isEmpty() && findConversation(c, conversationId).isEmpty()) {
                    throw conversationNotFound(conversationId);
                }
                return result;
            });
        }
    }

    /** {@link Database#inTransaction}, timed as the store call {@code op}: one clock read at each end, one record. */
    private <T> T measured(Operation op, String action, SqlWork<T> work) {
        return measured(null, op, action, work);
    }

    /**
     * {@link #measured(Operation, String, SqlWork)} in a transaction of {@code tenantId} when it is not null
     * ({@link Database#inTenantTransaction}: row-level security on PostgreSQL checks the tenant again).
     */
    private <T> T measured(String tenantId, Operation op, String action, SqlWork<T> work) {
        StoreTelemetry t = telemetry;
        long start = System.nanoTime();
        T result;
        try {
            result = tenantId == null ? database.inTransaction(action, work)
                    : database.inTenantTransaction(tenantId, action, work);
        } catch (RuntimeException e) {
            t.record(op, start, e);
            throw e;
        }
        t.record(op, start, null);
        return result;
    }

    private static List<StoredMessage> queryMessages(Connection c, String where, String... parameters)
            throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT " + MESSAGE_COLUMNS + " FROM messages " + where)) {
            for (int i = 0; i < parameters.length; i++) {
                ps.setString(i + 1, parameters[i]);
            }
            try (ResultSet rs = ps.executeQuery()) {
                var result = new ArrayList<StoredMessage>();
                while (rs.next()) {
                    result.add(message(rs));
                }
                return result;
            }
        }
    }

    private static Conversation conversation(ResultSet rs) throws SQLException {
        return new Conversation(rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4),
                Sql.instant(rs, 5), Sql.instant(rs, 6));
    }

    private static StoredMessage message(ResultSet rs) throws SQLException {
        Integer promptTokens = rs.getObject(8, Integer.class);
        Integer completionTokens = rs.getObject(9, Integer.class);
        Usage usage = promptTokens == null && completionTokens == null ? null
                : new Usage(promptTokens == null ? 0 : promptTokens, completionTokens == null ? 0 : completionTokens);
        return new StoredMessage(rs.getString(1), rs.getString(2), rs.getLong(3), Role.valueOf(rs.getString(4)),
                rs.getString(5), MessageStatus.valueOf(rs.getString(6)), rs.getString(7), usage, rs.getString(10),
                rs.getObject(11, Long.class), rs.getObject(12, Long.class), Sql.instant(rs, 13));
    }

    private static ParleyException conversationNotFound(String id) {
        return new ParleyException(ErrorCode.NOT_FOUND, "No conversation with id " + id);
    }

    /** Both databases keep microseconds; truncating here makes what we return equal what we read back later. */
    private Instant now() {
        return clock.instant().truncatedTo(ChronoUnit.MICROS);
    }

    private static void setNullableInt(PreparedStatement ps, int index, Integer value) throws SQLException {
        if (value == null) {
            ps.setNull(index, Types.INTEGER);
        } else {
            ps.setInt(index, value);
        }
    }

    private static void setNullableLong(PreparedStatement ps, int index, Long value) throws SQLException {
        if (value == null) {
            ps.setNull(index, Types.BIGINT);
        } else {
            ps.setLong(index, value);
        }
    }

    private static String newId(String prefix) {
        return prefix + UUID.randomUUID().toString().replace("-", "");
    }
}
