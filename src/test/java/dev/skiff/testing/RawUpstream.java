package dev.skiff.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An upstream at the socket level, for what a well-behaved HTTP server never does: hang without
 * answering, break off mid-response, or close a connection it had kept alive.
 */
public final class RawUpstream implements AutoCloseable {
    @FunctionalInterface
    public interface Script {
        /** Runs for each connection once its first request that is not a model listing has arrived. */
        void run(Socket socket, String requestHead, InputStream in, OutputStream out) throws Exception;
    }

    private final ServerSocket server;
    public final AtomicInteger connections = new AtomicInteger();
    public final AtomicInteger closedByPeer = new AtomicInteger();

    public RawUpstream(Script script) throws IOException {
        server = new ServerSocket(0, 128, InetAddress.getLoopbackAddress());
        Thread.ofVirtual().start(() -> {
            while (!server.isClosed()) {
                try {
                    Socket s = server.accept();
                    connections.incrementAndGet();
                    Thread.ofVirtual().start(() -> {
                        try (s) {
                            InputStream in = s.getInputStream();
                            OutputStream out = s.getOutputStream();
                            String head = readRequest(in);
                            while (head.startsWith("GET ")) { // model listings get an empty list
                                String list = "{\"object\":\"list\",\"data\":[]}";
                                write(out, "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: " + list.length() + "\r\n\r\n" + list);
                                head = readRequest(in);
                            }
                            script.run(s, head, in, out);
                        } catch (Exception e) {
                            // the script decides; a failed write means the peer left
                        }
                    });
                } catch (IOException e) {
                    return;
                }
            }
        });
    }

    public String baseUrl() {
        return "http://127.0.0.1:" + server.getLocalPort() + "/v1";
    }

    /** Reads one request head and its Content-Length body; returns the head. */
    public static String readRequest(InputStream in) throws IOException {
        StringBuilder head = new StringBuilder();
        int b, newlines = 0;
        while ((b = in.read()) != -1) {
            head.append((char) b);
            if (b == '\n') {
                if (++newlines == 2) break;
            } else if (b != '\r') {
                newlines = 0;
            }
        }
        if (b == -1) throw new IOException("closed");
        int length = 0;
        for (String line : head.toString().split("\r\n")) {
            if (line.toLowerCase().startsWith("content-length:")) length = Integer.parseInt(line.substring(15).strip());
        }
        in.readNBytes(length);
        return head.toString();
    }

    public static void write(OutputStream out, String text) throws IOException {
        out.write(text.getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    /** Waits until the peer closes the connection (read returns -1) or {@code millis} pass. */
    public boolean awaitPeerClose(InputStream in, Socket s, int millis) throws IOException {
        s.setSoTimeout(millis);
        try {
            while (in.read() != -1) {
                // drain
            }
            closedByPeer.incrementAndGet();
            return true;
        } catch (java.net.SocketTimeoutException e) {
            return false;
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
    }
}
