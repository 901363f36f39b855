package dev.skiff.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * A client at the socket level, for what well-behaved HTTP clients never do: send half a request,
 * pipeline without reading, stall mid-body, or speak HTTP/1.0. Responses are read byte by byte, so
 * whatever the server sends after one stays unread for the next.
 */
public final class RawClient implements AutoCloseable {
    /** One response as it came: status, headers (names lower-cased), body, and whether it was chunked. */
    /** {@code chunks}: how many HTTP chunks a chunked body came in (0 otherwise). */
    public record Response(String statusLine, int status, Map<String, String> headers, String body, boolean chunked, int chunks) {
        public String header(String name) {
            return headers.get(name.toLowerCase(Locale.ROOT));
        }
    }

    public final Socket socket;
    private final InputStream in;
    private final OutputStream out;

    public RawClient(int port) throws IOException {
        this(port, 10_000);
    }

    public RawClient(int port, int readTimeoutMillis) throws IOException {
        socket = new Socket();
        socket.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
        socket.setSoTimeout(readTimeoutMillis);
        socket.setTcpNoDelay(true);
        in = new java.io.BufferedInputStream(socket.getInputStream(), 65536);
        out = socket.getOutputStream();
    }

    public RawClient send(String text) throws IOException {
        return send(text.getBytes(StandardCharsets.UTF_8));
    }

    public RawClient send(byte[] bytes) throws IOException {
        out.write(bytes);
        out.flush();
        return this;
    }

    /**
     * Reads one response. A body is read by its Content-Length, as chunks, or, when the response has
     * neither, to the end of the connection. A response to HEAD is read without a body ({@code head}).
     */
    public Response read(boolean head) throws IOException {
        String statusLine = line();
        if (statusLine == null) throw new IOException("connection closed before a response");
        Map<String, String> headers = new LinkedHashMap<>();
        for (String l = line(); l != null && !l.isEmpty(); l = line()) {
            int colon = l.indexOf(':');
            headers.put(l.substring(0, colon).strip().toLowerCase(Locale.ROOT), l.substring(colon + 1).strip());
        }
        int status = Integer.parseInt(statusLine.split(" ")[1]);
        boolean chunked = "chunked".equalsIgnoreCase(headers.get("transfer-encoding"));
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        int chunks = 0;
        if (head || status / 100 == 1 || status == 204 || status == 304) {
            // no body
        } else if (chunked) {
            for (int size = Integer.parseInt(line().strip(), 16); size > 0; size = Integer.parseInt(line().strip(), 16)) {
                body.write(in.readNBytes(size));
                chunks++;
                line();
            }
            line();
        } else if (headers.containsKey("content-length")) {
            body.write(in.readNBytes(Integer.parseInt(headers.get("content-length"))));
        } else {
            body.write(in.readAllBytes());
        }
        return new Response(statusLine, status, headers, body.toString(StandardCharsets.UTF_8), chunked, chunks);
    }

    public Response read() throws IOException {
        return read(false);
    }

    /**
     * Waits up to {@code millis} for the server to close the connection (end of stream or a reset);
     * bytes that arrive meanwhile are skipped. False when it is still open then.
     */
    public boolean awaitClosed(int millis) throws IOException {
        long deadline = System.nanoTime() + millis * 1_000_000L;
        byte[] skip = new byte[8192];
        while (System.nanoTime() < deadline) {
            socket.setSoTimeout((int) Math.max(1, (deadline - System.nanoTime()) / 1_000_000));
            try {
                if (in.read(skip) < 0) return true;
            } catch (SocketTimeoutException e) {
                return false;
            } catch (SocketException e) {
                return true; // reset
            }
        }
        return false;
    }

    /** One line without its CRLF, or null at the end of the stream. */
    private String line() throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream(64);
        int c;
        while ((c = in.read()) >= 0) {
            if (c == '\n') break;
            if (c != '\r') b.write(c);
        }
        if (c < 0 && b.size() == 0) return null;
        return b.toString(StandardCharsets.ISO_8859_1);
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
