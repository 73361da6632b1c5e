package dev.parley.core.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.ToIntFunction;

import org.junit.jupiter.api.Test;

import dev.parley.api.chat.ChatMessage;
import dev.parley.api.chat.Role;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ModelDescriptor;

class ContextWindowTest {
    /** One token per character of content, so the arithmetic in the tests is easy to follow. */
    private static final ToIntFunction<List<ChatMessage>> CHARS = msgs -> msgs.stream()
            .mapToInt(m -> m.content().length()).sum();

    private static List<ChatMessage> history(int n, int charsEach) {
        List<ChatMessage> h = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            String body = ("m" + i + "-").repeat(charsEach).substring(0, charsEach);
            h.add(i % 2 == 0 ? ChatMessage.user(body) : ChatMessage.assistant(body));
        }
        return h;
    }

    @Test
    void keepsEverythingWhenItFits() {
        ModelDescriptor model = new ModelDescriptor("m", "p", null, 1000, 100);
        List<ChatMessage> h = history(4, 10);

        ContextWindow.Fit fit = ContextWindow.fit("sys", h, ChatMessage.user("new"), model, null, CHARS);

        assertThat(fit.dropped()).isZero();
        assertThat(fit.messages()).hasSize(6);
        assertThat(fit.messages().get(0)).isEqualTo(ChatMessage.system("sys"));
        assertThat(fit.messages().subList(1, 5)).isEqualTo(h);
        assertThat(fit.messages().get(5)).isEqualTo(ChatMessage.user("new"));
        assertThat(fit.promptTokens()).isEqualTo(3 + 40 + 3);
    }

    @Test
    void dropsOldestHistoryButKeepsSystemPromptAndNewMessage() {
        // Budget: 100 - min(40, 1000 requested) = 60 tokens. System 10 + new 10 leave 40: the newest 4 of 10 fit.
        ModelDescriptor model = new ModelDescriptor("m", "p", null, 100, 40);
        List<ChatMessage> h = history(10, 10);
        String system = "S".repeat(10);

        ContextWindow.Fit fit = ContextWindow.fit(system, h, ChatMessage.user("N".repeat(10)), model, 1000, CHARS);

        assertThat(fit.dropped()).isEqualTo(6);
        assertThat(fit.messages()).first().extracting(ChatMessage::role).isEqualTo(Role.SYSTEM);
        assertThat(fit.messages()).last().isEqualTo(ChatMessage.user("N".repeat(10)));
        assertThat(fit.messages().subList(1, 5)).isEqualTo(h.subList(6, 10));
        assertThat(fit.promptTokens()).isEqualTo(60).isEqualTo(CHARS.applyAsInt(fit.messages()));
    }

    @Test
    void smallerRequestedAnswerLeavesMoreRoomForHistory() {
        ModelDescriptor model = new ModelDescriptor("m", "p", null, 100, 40);
        List<ChatMessage> h = history(10, 10);

        ContextWindow.Fit wide = ContextWindow.fit(null, h, ChatMessage.user("N".repeat(10)), model, 10, CHARS);

        // Budget 90: new message 10 plus 8 history messages.
        assertThat(ContextWindow.promptBudget(model, 10)).isEqualTo(90);
        assertThat(wide.dropped()).isEqualTo(2);
        assertThat(wide.messages()).hasSize(9).first().isEqualTo(h.get(2));
    }

    @Test
    void dropsAllHistoryWhenOnlyTheNewMessageFits() {
        ModelDescriptor model = new ModelDescriptor("m", "p", null, 30, 10);
        List<ChatMessage> h = history(3, 15);

        ContextWindow.Fit fit = ContextWindow.fit("sys", h, ChatMessage.user("hello"), model, null, CHARS);

        assertThat(fit.dropped()).isEqualTo(3);
        assertThat(fit.messages()).containsExactly(ChatMessage.system("sys"), ChatMessage.user("hello"));
    }

    @Test
    void rejectsAMessageThatCannotFitEvenAlone() {
        ModelDescriptor model = new ModelDescriptor("tiny", "p", null, 50, 20);

        assertThatThrownBy(() -> ContextWindow.fit(null, history(2, 5), ChatMessage.user("x".repeat(31)), model,
                null, CHARS))
                .isInstanceOfSatisfying(ParleyException.class,
                        e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST))
                .hasMessage("message too long for model tiny: 31 tokens, limit 30");
    }

    @Test
    void usesFewEstimatesOnLongHistories() {
        ModelDescriptor model = new ModelDescriptor("m", "p", null, 1000, 100);
        AtomicInteger calls = new AtomicInteger();
        ToIntFunction<List<ChatMessage>> counting = msgs -> {
            calls.incrementAndGet();
            return CHARS.applyAsInt(msgs);
        };

        ContextWindow.Fit fit = ContextWindow.fit(null, history(5000, 10), ChatMessage.user("q"), model, null,
                counting);

        // 899 tokens of room, 1 used by the question: 89 messages of 10 chars.
        assertThat(fit.messages()).hasSize(90);
        assertThat(calls.get()).isLessThan(30);
    }
}
