package dev.parley.provider.openai.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class SseEventSplitterTest {

    private final List<String> events = new ArrayList<>();
    private final List<String> types = new ArrayList<>();
    private final SseEventSplitter splitter = new SseEventSplitter((event, data, length) -> {
        types.add(event);
        events.add(new String(data, 0, length, StandardCharsets.UTF_8));
    });

    private void feed(String s) throws Exception {
        feed(s.getBytes(StandardCharsets.UTF_8));
    }

    private void feed(byte[] b) throws Exception {
        splitter.feed(ByteBuffer.wrap(b));
    }

    @Test
    void splitsEventsOnBlankLinesWithAndWithoutTheSpace() throws Exception {
        feed("data: {\"a\":1}\n\ndata:{\"b\":2}\n\ndata: [DONE]\n\n");

        assertThat(events).containsExactly("{\"a\":1}", "{\"b\":2}", "[DONE]");
        assertThat(types).containsOnlyNulls();
    }

    @Test
    void handlesCrLfAndLoneCrLineEnds() throws Exception {
        feed("data: one\r\n\r\ndata: two\r\rdata: three\n\n");

        assertThat(events).containsExactly("one", "two", "three");
    }

    @Test
    void crAndLfSplitAcrossBuffersMakeOneLineEnd() throws Exception {
        feed("data: one\r");
        feed("\ndata: more\r");
        feed("\n\r");
        feed("\n");

        assertThat(events).containsExactly("one\nmore");
    }

    @Test
    void joinsAnEventSplitAcrossBuffersAtEveryByte() throws Exception {
        byte[] all = "data: {\"choices\":[]}\n\ndata: second\n\n".getBytes(StandardCharsets.UTF_8);
        for (byte b : all) {
            feed(new byte[] {b});
        }

        assertThat(events).containsExactly("{\"choices\":[]}", "second");
    }

    @Test
    void keepsAMultiByteCharacterSplitAcrossBuffersIntact() throws Exception {
        byte[] all = "data: {\"c\":\"h\u00e9 \u20ac \ud83d\ude00\"}\n\n".getBytes(StandardCharsets.UTF_8);
        int euro = indexOf(all, (byte) 0xE2); // first byte of the euro sign
        int emoji = indexOf(all, (byte) 0xF0);
        feed(java.util.Arrays.copyOfRange(all, 0, euro + 1));
        feed(java.util.Arrays.copyOfRange(all, euro + 1, emoji + 2));
        feed(java.util.Arrays.copyOfRange(all, emoji + 2, all.length));

        assertThat(events).containsExactly("{\"c\":\"h\u00e9 \u20ac \ud83d\ude00\"}");
    }

    @Test
    void joinsMultiLineDataWithNewlines() throws Exception {
        feed("data: first\ndata:second\ndata:  third\n\n");

        assertThat(events).containsExactly("first\nsecond\n third");
    }

    @Test
    void ignoresCommentsIdsRetriesAndEventsWithoutData() throws Exception {
        feed(": keep-alive\n\nid: 7\nretry: 1000\n\n: OPENROUTER PROCESSING\ndata: x\nid: 8\n\n");

        assertThat(events).containsExactly("x");
    }

    @Test
    void reportsTheEventTypeAndResetsItAfterDispatch() throws Exception {
        feed("event: error\ndata: {\"error\":{}}\n\ndata: next\n\n");

        assertThat(events).containsExactly("{\"error\":{}}", "next");
        assertThat(types).containsExactly("error", null);
    }

    @Test
    void aFieldWithoutColonAndUnknownFieldsAreIgnored() throws Exception {
        feed("data\nfoo: bar\n\n");

        // "data" alone is a data line with an empty value: an event with empty data.
        assertThat(events).containsExactly("");
    }

    @Test
    void endFlushesALastLineWithoutLineEndAndAnEventWithoutBlankLine() throws Exception {
        feed("data: one\n\ndata: [DO");
        feed("NE]");
        splitter.end();

        assertThat(events).containsExactly("one", "[DONE]");
    }

    @Test
    void stripsALeadingByteOrderMark() throws Exception {
        feed(new byte[] {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF});
        feed("data: x\n\n");

        assertThat(events).containsExactly("x");
    }

    @Test
    void readsDirectAndSlicedBuffers() throws Exception {
        byte[] all = "xxdata: direct\n\nyy".getBytes(StandardCharsets.UTF_8);
        ByteBuffer direct = ByteBuffer.allocateDirect(all.length);
        direct.put(all).flip();
        direct.position(2).limit(all.length - 2);
        splitter.feed(direct);
        ByteBuffer sliced = ByteBuffer.wrap(all, 2, all.length - 4).slice();
        splitter.feed(sliced);

        assertThat(events).containsExactly("direct", "direct");
        assertThat(direct.hasRemaining()).isFalse();
        assertThat(sliced.hasRemaining()).isFalse();
    }

    @Test
    void refusesAnEventLargerThanTheLimit() {
        byte[] big = new byte[SseEventSplitter.MAX_EVENT_BYTES / 4];
        java.util.Arrays.fill(big, (byte) 'a');

        assertThatThrownBy(() -> {
            feed("data: ");
            for (int i = 0; i < 5; i++) {
                feed(big);
            }
        }).isInstanceOf(UpstreamProtocolException.class);
    }

    private static int indexOf(byte[] bytes, byte b) {
        for (int i = 0; i < bytes.length; i++) {
            if (bytes[i] == b) {
                return i;
            }
        }
        throw new AssertionError("not found");
    }
}
