package dev.parley.pluginhost.agent.rpc;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.Closeable;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.Socket;

/**
 * One end of a plugin-host connection: frames of a 4-byte big-endian length followed by that many bytes of UTF-8
 * JSON, one message each (ADR 31). Reads are bounded by {@code maxFrameBytes}; a larger frame is refused before any
 * of it is read ({@link FrameTooLargeException}), and the connection is not usable after that. Sends from several
 * threads do not interleave. No Java serialization anywhere: every message is a JSON object with a {@code type}.
 */
public final class RpcChannel implements Closeable {
    private final Socket socket;
    private final DataInputStream in;
    private final DataOutputStream out;
    private final ObjectMapper json;
    private volatile int maxFrameBytes;

    public RpcChannel(Socket socket, ObjectMapper json, int maxFrameBytes) throws IOException {
        this.socket = socket;
        this.json = json;
        this.maxFrameBytes = maxFrameBytes;
        this.in = new DataInputStream(new BufferedInputStream(socket.getInputStream()));
        this.out = new DataOutputStream(new BufferedOutputStream(socket.getOutputStream()));
    }

    /** The largest frame read from now on (a small one before the handshake, a larger one after it). */
    public void maxFrameBytes(int max) {
        this.maxFrameBytes = max;
    }

    public ObjectMapper json() {
        return json;
    }

    public ObjectNode message(String type) {
        ObjectNode m = json.createObjectNode();
        m.put("type", type);
        return m;
    }

    /** Sends one message; an I/O error means the connection is gone. */
    public void send(ObjectNode message) throws IOException {
        byte[] bytes = json.writeValueAsBytes(message);
        if (bytes.length > maxFrameBytes) {
            throw new FrameTooLargeException(bytes.length, maxFrameBytes);
        }
        synchronized (out) {
            out.writeInt(bytes.length);
            out.write(bytes);
            out.flush();
        }
    }

    /**
     * The next message; blocks. Throws {@link EOFException} at the end of the stream, {@link FrameTooLargeException}
     * for a frame over the bound, {@link ProtocolException} for a frame that is not a JSON object with a type.
     */
    public JsonNode receive() throws IOException {
        int length = in.readInt();
        if (length < 0 || length > maxFrameBytes) {
            throw new FrameTooLargeException(length, maxFrameBytes);
        }
        byte[] bytes = new byte[length];
        in.readFully(bytes);
        JsonNode node;
        try {
            node = json.readTree(bytes);
        } catch (IOException e) {
            throw new ProtocolException("a frame is not JSON: " + e.getMessage());
        }
        if (node == null || !node.isObject() || !node.path("type").isTextual()) {
            throw new ProtocolException("a frame is not a JSON object with a type");
        }
        return node;
    }

    /** Sends a last message if it can (a refusal, a reason), then closes. */
    public void closeWith(ObjectNode last) {
        try {
            send(last);
        } catch (IOException | RuntimeException ignored) {
            // the other end may be gone already; closing is what matters
        }
        close();
    }

    @Override
    public void close() {
        try {
            socket.close();
        } catch (IOException ignored) {
            // closing
        }
    }

    public boolean isClosed() {
        return socket.isClosed();
    }

    /** A frame larger than the bound. */
    public static final class FrameTooLargeException extends IOException {
        private static final long serialVersionUID = 1L;

        public FrameTooLargeException(long length, int max) {
            super("frame of " + length + " bytes refused: at most " + max);
        }
    }

    /** A frame that does not follow the protocol. */
    public static final class ProtocolException extends IOException {
        private static final long serialVersionUID = 1L;

        public ProtocolException(String message) {
            super(message);
        }
    }
}
