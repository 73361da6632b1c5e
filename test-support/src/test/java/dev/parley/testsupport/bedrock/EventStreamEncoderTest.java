package dev.parley.testsupport.bedrock;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.eventstream.HeaderValue;
import software.amazon.awssdk.eventstream.Message;
import software.amazon.awssdk.eventstream.MessageDecoder;

/** The encoder's frames read back by the AWS SDK's own event-stream decoder (an independent implementation). */
class EventStreamEncoderTest {

    @Test
    void theSdksDecoderReadsAnEventWithItsHeadersAndPayload() {
        List<Message> decoded = new ArrayList<>();
        MessageDecoder decoder = new MessageDecoder(decoded::add);
        byte[] frame = EventStreamEncoder.event("contentBlockDelta", "{\"delta\":{\"text\":\"Hi\"}}");
        decoder.feed(ByteBuffer.wrap(frame));

        assertThat(decoded).hasSize(1);
        Message m = decoded.get(0);
        assertThat(m.getHeaders()).containsEntry(":event-type", HeaderValue.fromString("contentBlockDelta"))
                .containsEntry(":message-type", HeaderValue.fromString("event"))
                .containsEntry(":content-type", HeaderValue.fromString("application/json"));
        assertThat(new String(m.getPayload(), StandardCharsets.UTF_8)).isEqualTo("{\"delta\":{\"text\":\"Hi\"}}");
    }

    @Test
    void anExceptionMessageNamesItsType() {
        List<Message> decoded = new ArrayList<>();
        new MessageDecoder(decoded::add).feed(ByteBuffer.wrap(
                EventStreamEncoder.exception("throttlingException", "slow down")));
        assertThat(decoded.get(0).getHeaders()).containsEntry(":exception-type",
                HeaderValue.fromString("throttlingException"));
        assertThat(new String(decoded.get(0).getPayload(), StandardCharsets.UTF_8))
                .isEqualTo("{\"message\":\"slow down\"}");
    }

    @Test
    void aCorruptedFrameFailsTheSdksChecksum() {
        byte[] bad = EventStreamEncoder.corrupt(EventStreamEncoder.event("messageStart", "{\"role\":\"assistant\"}"));
        assertThatThrownBy(() -> new MessageDecoder(m -> { }).feed(ByteBuffer.wrap(bad)))
                .hasMessageContaining("checksum");
    }
}
