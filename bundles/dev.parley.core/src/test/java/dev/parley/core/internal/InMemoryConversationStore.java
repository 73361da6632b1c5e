package dev.parley.core.internal;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

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

/**
 * A ConversationStore kept in memory, following the store contract (NOT_FOUND for unknown ids, and for another
 * tenant's through a {@link #tenant} view, and for another owner's through an owner's view). The unscoped helpers are for tests that look behind the service.
 */
final class InMemoryConversationStore implements ConversationStore {
    private final Map<String, Conversation> conversations = new LinkedHashMap<>();
    private final Map<String, List<StoredMessage>> messages = new LinkedHashMap<>();
    /** Conversation id → its tenant; conversations made without a view belong to the operator's. */
    private final Map<String, String> tenants = new LinkedHashMap<>();
    /** Conversation id → the subject that owns it; conversations made without an owner's view have none. */
    private final Map<String, String> owners = new LinkedHashMap<>();
    /** Plays a database that fails when an answer is finished as COMPLETE. */
    volatile boolean failCompleteFinish;
    /** Plays a slow database: {@link #finish} waits for this latch (when set) before it writes. */
    volatile java.util.concurrent.CountDownLatch finishGate;

    synchronized Conversation create(NewConversation spec) {
        Instant now = Instant.now();
        Conversation c = new Conversation(UUID.randomUUID().toString(), spec.title(), spec.model(), spec.systemPrompt(),
                now, now);
        conversations.put(c.id(), c);
        messages.put(c.id(), new ArrayList<>());
        return c;
    }

    synchronized Optional<Conversation> find(String id) {
        return Optional.ofNullable(conversations.get(id));
    }

    synchronized Page<Conversation> list(int offset, int limit) {
        List<Conversation> all = conversations.values().stream()
                .sorted(Comparator.comparing(Conversation::updatedAt).reversed()).toList();
        int from = Math.min(offset, all.size());
        int to = Math.min(all.size(), from + limit);
        return new Page<>(all.subList(from, to), offset, limit, all.size());
    }

    synchronized boolean delete(String id) {
        messages.remove(id);
        return conversations.remove(id) != null;
    }

    synchronized StoredMessage append(String conversationId, Role role, String content, MessageStatus status,
            String model) {
        List<StoredMessage> list = messages.get(conversationId);
        if (list == null) {
            throw new ParleyException(ErrorCode.NOT_FOUND, "no conversation " + conversationId);
        }
        StoredMessage m = new StoredMessage(UUID.randomUUID().toString(), conversationId, list.size() + 1, role,
                content, status, model, null, null, null, null, Instant.now());
        list.add(m);
        return m;
    }

    synchronized List<StoredMessage> appendAll(String conversationId, List<NewMessage> batch) {
        List<StoredMessage> out = new ArrayList<>();
        for (NewMessage m : batch) {
            out.add(append(conversationId, m.role(), m.content(), m.status(), m.model()));
        }
        return out;
    }

    @Override
    public StoredMessage finish(String messageId, String content, MessageStatus status, Usage usage,
            String error, Duration latency, Duration timeToFirstToken) {
        return finish(messageId, content, status, null, usage, error, latency, timeToFirstToken);
    }

    @Override
    public StoredMessage finish(String messageId, String content, MessageStatus status, String model, Usage usage,
            String error, Duration latency, Duration timeToFirstToken) {
        java.util.concurrent.CountDownLatch gate = finishGate;
        if (gate != null) {
            try {
                if (!gate.await(30, java.util.concurrent.TimeUnit.SECONDS)) {
                    throw new ParleyException(ErrorCode.STORE_FAILURE, "test gate never opened");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new ParleyException(ErrorCode.STORE_FAILURE, "interrupted");
            }
        }
        return write(messageId, content, status, model, usage, error, latency, timeToFirstToken);
    }

    private synchronized StoredMessage write(String messageId, String content, MessageStatus status, String model,
            Usage usage, String error, Duration latency, Duration timeToFirstToken) {
        if (failCompleteFinish && status == MessageStatus.COMPLETE) {
            throw new ParleyException(ErrorCode.STORE_FAILURE, "disk full");
        }
        for (List<StoredMessage> list : messages.values()) {
            for (int i = 0; i < list.size(); i++) {
                StoredMessage m = list.get(i);
                if (m.id().equals(messageId)) {
                    StoredMessage done = new StoredMessage(m.id(), m.conversationId(), m.seq(), m.role(), content,
                            status, model == null ? m.model() : model, usage, error, latency == null ? null : latency.toMillis(),
                            timeToFirstToken == null ? null : timeToFirstToken.toMillis(), m.createdAt());
                    list.set(i, done);
                    return done;
                }
            }
        }
        throw new ParleyException(ErrorCode.NOT_FOUND, "no message " + messageId);
    }

    synchronized List<StoredMessage> messages(String conversationId) {
        List<StoredMessage> list = messages.get(conversationId);
        if (list == null) {
            throw new ParleyException(ErrorCode.NOT_FOUND, "no conversation " + conversationId);
        }
        return List.copyOf(list);
    }

    @Override
    public synchronized StoredMessage interruptIfStreaming(String messageId, String content, String error) {
        StoredMessage current = messages.values().stream().flatMap(List::stream)
                .filter(m -> m.id().equals(messageId)).findFirst()
                .orElseThrow(() -> new ParleyException(ErrorCode.NOT_FOUND, "no message " + messageId));
        if (current.status() != MessageStatus.STREAMING) {
            return current;
        }
        return write(messageId, content, MessageStatus.INTERRUPTED, null, null, error,
                current.latencyMs() == null ? null : Duration.ofMillis(current.latencyMs()),
                current.timeToFirstTokenMs() == null ? null : Duration.ofMillis(current.timeToFirstTokenMs()));
    }

    @Override
    public synchronized List<StoredMessage> streaming() {
        return messages.values().stream().flatMap(List::stream)
                .filter(m -> m.status() == MessageStatus.STREAMING).toList();
    }

    synchronized int messageCount() {
        return messages.values().stream().mapToInt(List::size).sum();
    }

    @Override
    public TenantConversations tenant(String tenantId) {
        return new View(tenantId, null);
    }

    /** One tenant's conversations, or one owner's in it (and those without an owner), as the store contract says. */
    private final class View implements TenantConversations {
        private final String tenantId;
        private final String owner;

        View(String tenantId, String owner) {
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
            if (subject == null || subject.isBlank() || (owner != null && !owner.equals(subject))) {
                throw new IllegalArgumentException("bad owner " + subject);
            }
            return new View(tenantId, subject);
        }

        @Override
        public Conversation create(NewConversation spec) {
            synchronized (InMemoryConversationStore.this) {
                Conversation c = InMemoryConversationStore.this.create(spec);
                tenants.put(c.id(), tenantId);
                if (owner != null) {
                    owners.put(c.id(), owner);
                }
                return c;
            }
        }

        @Override
        public Optional<Conversation> find(String id) {
            return mine(id) ? InMemoryConversationStore.this.find(id) : Optional.empty();
        }

        @Override
        public Page<Conversation> list(int offset, int limit) {
            synchronized (InMemoryConversationStore.this) {
                List<Conversation> own = conversations.values().stream().filter(c -> mine(c.id()))
                        .sorted(Comparator.comparing(Conversation::updatedAt).reversed()).toList();
                int from = Math.min(offset, own.size());
                int to = Math.min(own.size(), from + limit);
                return new Page<>(own.subList(from, to), offset, limit, own.size());
            }
        }

        @Override
        public boolean delete(String id) {
            return mine(id) && InMemoryConversationStore.this.delete(id);
        }

        @Override
        public StoredMessage append(String conversationId, Role role, String content, MessageStatus status,
                String model) {
            return InMemoryConversationStore.this.append(owned(conversationId), role, content, status, model);
        }

        @Override
        public List<StoredMessage> appendAll(String conversationId, List<NewMessage> batch) {
            return InMemoryConversationStore.this.appendAll(owned(conversationId), batch);
        }

        @Override
        public List<StoredMessage> messages(String conversationId) {
            return InMemoryConversationStore.this.messages(owned(conversationId));
        }

        private boolean mine(String id) {
            synchronized (InMemoryConversationStore.this) {
                if (!tenantId.equals(tenants.getOrDefault(id, dev.parley.api.identity.Principal.OPERATOR_TENANT))) {
                    return false;
                }
                String by = owners.get(id);
                return owner == null || by == null || owner.equals(by);
            }
        }

        private String owned(String id) {
            if (!mine(id)) {
                throw new ParleyException(ErrorCode.NOT_FOUND, "no conversation " + id);
            }
            return id;
        }
    }

    /** The owner of conversation {@code id}, or null when it has none. */
    synchronized String ownerOf(String id) {
        return owners.get(id);
    }
}
