package dev.parley.pluginhost.agent.rpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.DataOutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Frames over a real loopback socket. */
class RpcChannelTest {
    final ObjectMapper json = new ObjectMapper();
    ServerSocket server;
    Socket client;
    Socket accepted;

    @BeforeEach
    void connect() throws Exception {
        server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
        client = new Socket(InetAddress.getLoopbackAddress(), server.getLocalPort());
        accepted = server.accept();
    }

    @AfterEach
    void close() throws Exception {
        client.close();
        accepted.close();
        server.close();
    }

    @Test
    void messagesArriveWholeAndInOrder() throws Exception {
        var out = new RpcChannel(client, json, 1024);
        var in = new RpcChannel(accepted, json, 1024);
        for (int i = 0; i < 100; i++) {
            var m = out.message(Protocol.TOKEN);
            m.put("rid", 7);
            m.put("delta", "t" + i + " é");
            out.send(m);
        }
        for (int i = 0; i < 100; i++) {
            var m = in.receive();
            assertThat(m.path("type").asText()).isEqualTo(Protocol.TOKEN);
            assertThat(m.path("delta").asText()).isEqualTo("t" + i + " é");
        }
    }

    @Test
    void aFrameOverTheBoundIsRefusedBeforeItIsRead() throws Exception {
        var in = new RpcChannel(accepted, json, 1024);
        var raw = new DataOutputStream(client.getOutputStream());
        raw.writeInt(1025);
        raw.flush();
        assertThatThrownBy(in::receive).isInstanceOf(RpcChannel.FrameTooLargeException.class)
                .hasMessageContaining("1025");

        var out = new RpcChannel(client, json, 64);
        var big = out.message(Protocol.TOKEN);
        big.put("delta", "x".repeat(100));
        assertThatThrownBy(() -> out.send(big)).isInstanceOf(RpcChannel.FrameTooLargeException.class);
    }

    @Test
    void aFrameThatIsNotATypedJsonObjectIsAProtocolError() throws Exception {
        var in = new RpcChannel(accepted, json, 1024);
        var raw = new DataOutputStream(client.getOutputStream());
        for (String body : new String[] {"[1,2]", "{\"no\":\"type\"}", "not json"}) {
            byte[] b = body.getBytes(StandardCharsets.UTF_8);
            raw.writeInt(b.length);
            raw.write(b);
            raw.flush();
            assertThatThrownBy(in::receive).isInstanceOf(RpcChannel.ProtocolException.class);
        }
    }
}
