package dev.parley.testsupport.ws;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * A WebSocket opening handshake (RFC 6455) written by hand over a plain socket, for tests that look at what the
 * server answers a refused handshake: the JDK's WebSocket client keeps neither the status line's body nor lets a
 * test set {@code Origin}-like headers freely on every JDK. Reads the answer's status, headers and body (by
 * Content-Length), then closes the connection; a 101 is not read further.
 */
public final class RawHandshake {
    /** The server's answer: status, headers (names lower case, last value wins) and body. */
    public record Answer(int status, Map<String, String> headers, String body) {
        public String header(String name) {
            return headers.get(name.toLowerCase(Locale.ROOT));
        }
    }

    private RawHandshake() {
    }

    /**
     * Sends {@code GET path} with the upgrade headers and {@code extra} (e.g. {@code Authorization}, {@code Origin},
     * {@code Sec-WebSocket-Protocol}) to {@code http://host:port} of {@code server}.
     */
    public static Answer send(URI server, String path, Map<String, String> extra) throws IOException {
        try (Socket socket = new Socket(server.getHost(), server.getPort())) {
            socket.setSoTimeout(10_000);
            StringBuilder request = new StringBuilder();
            request.append("GET ").append(path).append(" HTTP/1.1\r\n");
            request.append("Host: ").append(server.getHost()).append(':').append(server.getPort()).append("\r\n");
            request.append("Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n");
            request.append("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n");
            extra.forEach((name, value) -> request.append(name).append(": ").append(value).append("\r\n"));
            request.append("\r\n");
            OutputStream out = socket.getOutputStream();
            out.write(request.toString().getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            InputStream in = socket.getInputStream();
            String statusLine = readLine(in);
            String[] parts = statusLine.split(" ", 3);
            int status = Integer.parseInt(parts[1]);
            Map<String, String> headers = new LinkedHashMap<>();
            for (String line = readLine(in); !line.isEmpty(); line = readLine(in)) {
                int colon = line.indexOf(':');
                headers.put(line.substring(0, colon).strip().toLowerCase(Locale.ROOT), line.substring(colon + 1).strip());
            }
            String body = "";
            String length = headers.get("content-length");
            if (status != 101 && length != null) {
                body = new String(in.readNBytes(Integer.parseInt(length)), StandardCharsets.UTF_8);
            }
            return new Answer(status, headers, body);
        }
    }

    private static String readLine(InputStream in) throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        int b;
        while ((b = in.read()) != -1 && b != '\n') {
            if (b != '\r') {
                line.write(b);
            }
        }
        if (b == -1 && line.size() == 0) {
            throw new IOException("connection closed before the answer");
        }
        return line.toString(StandardCharsets.ISO_8859_1);
    }
}
