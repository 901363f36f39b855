package dev.skiff.upstream;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import dev.skiff.testing.TestGateway;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Upstream TLS is verified (certificate and host name), a private CA can be trusted, and HTTPS_PROXY is used. */
class TlsAndProxyTest {
    static final String COMPLETION = "{\"id\":\"1\",\"object\":\"chat.completion\",\"choices\":[]}";
    static final String CHAT = "{\"model\":\"openai/gpt-4o-mini\",\"messages\":[]}";

    static Path dir;
    static Path caPem;
    static HttpsServer https;
    static int httpsPort;

    @BeforeAll
    static void startHttpsProvider() throws Exception {
        dir = Files.createTempDirectory("skiff-tls");
        Path keystore = dir.resolve("server.p12");
        caPem = dir.resolve("ca.pem");
        String keytool = Path.of(System.getProperty("java.home"), "bin", "keytool").toString();
        run(keytool, "-genkeypair", "-alias", "s", "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=upstream.test",
                "-ext", "san=dns:upstream.test,ip:127.0.0.1", "-validity", "2", "-storetype", "PKCS12",
                "-keystore", keystore.toString(), "-storepass", "changeit", "-keypass", "changeit");
        run(keytool, "-exportcert", "-rfc", "-alias", "s", "-keystore", keystore.toString(), "-storepass", "changeit",
                "-file", caPem.toString());

        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (var in = new FileInputStream(keystore.toFile())) {
            ks.load(in, "changeit".toCharArray());
        }
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, "changeit".toCharArray());
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(kmf.getKeyManagers(), null, null);
        https = HttpsServer.create(new InetSocketAddress("127.0.0.1", 0), 64);
        https.setHttpsConfigurator(new HttpsConfigurator(ctx));
        https.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        https.createContext("/", ex -> {
            ex.getRequestBody().readAllBytes();
            byte[] body = (ex.getRequestURI().getPath().endsWith("/models") ? "{\"object\":\"list\",\"data\":[]}" : COMPLETION)
                    .getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().set("Content-Type", "application/json");
            ex.sendResponseHeaders(200, body.length);
            ex.getResponseBody().write(body);
            ex.close();
        });
        https.start();
        httpsPort = https.getAddress().getPort();
    }

    @AfterAll
    static void stop() {
        https.stop(0);
    }

    static void run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) throw new IllegalStateException(String.join(" ", cmd) + ": " + out);
    }

    @Test
    void untrustedCertificateIsRefused() throws Exception {
        try (TestGateway gw = TestGateway.start("OPENAI_API_KEY", "k", "OPENAI_BASE_URL", "https://127.0.0.1:" + httpsPort + "/v1")) {
            HttpResponse<String> r = gw.post("/v1/chat/completions", CHAT);
            assertThat(r.statusCode()).isEqualTo(502);
            assertThat(r.body()).containsIgnoringCase("certif").doesNotContain("127.0.0.1"); // said without the names it was for
        }
    }

    @Test
    void trustedPrivateCaWorks() throws Exception {
        try (TestGateway gw = TestGateway.start("OPENAI_API_KEY", "k", "OPENAI_BASE_URL", "https://127.0.0.1:" + httpsPort + "/v1",
                "SKIFF_TLS_CA_FILE", caPem.toString())) {
            HttpResponse<String> r = gw.post("/v1/chat/completions", CHAT);
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.body()).isEqualTo(COMPLETION);
        }
    }

    @Test
    void httpsProxyTunnelsToTheProvider() throws Exception {
        List<String> connects = new CopyOnWriteArrayList<>();
        try (ServerSocket proxy = new ServerSocket(0, 64, InetAddress.getLoopbackAddress())) {
            Thread.ofVirtual().start(() -> {
                while (!proxy.isClosed()) {
                    try {
                        Socket client = proxy.accept();
                        Thread.ofVirtual().start(() -> tunnel(client, connects));
                    } catch (IOException e) {
                        return;
                    }
                }
            });
            // upstream.test resolves nowhere but at the proxy, so a direct connection could not work.
            try (TestGateway gw = TestGateway.start("OPENAI_API_KEY", "k", "OPENAI_BASE_URL", "https://upstream.test:" + httpsPort + "/v1",
                    "SKIFF_TLS_CA_FILE", caPem.toString(), "HTTPS_PROXY", "http://127.0.0.1:" + proxy.getLocalPort())) {
                HttpResponse<String> r = gw.post("/v1/chat/completions", CHAT);
                assertThat(r.statusCode()).isEqualTo(200);
                assertThat(r.body()).isEqualTo(COMPLETION);
                assertThat(connects).contains("CONNECT upstream.test:" + httpsPort + " HTTP/1.1");
            }
        }
    }

    /** A minimal CONNECT proxy that sends upstream.test to loopback. */
    private static void tunnel(Socket client, List<String> connects) {
        try (client) {
            InputStream in = client.getInputStream();
            StringBuilder head = new StringBuilder();
            while (!head.toString().endsWith("\r\n\r\n")) {
                int b = in.read();
                if (b < 0) return;
                head.append((char) b);
            }
            String first = head.substring(0, head.indexOf("\r\n"));
            connects.add(first);
            int port = Integer.parseInt(first.split(" ")[1].split(":")[1]);
            try (Socket target = new Socket(InetAddress.getLoopbackAddress(), port)) {
                OutputStream out = client.getOutputStream();
                out.write("HTTP/1.1 200 Connection established\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                out.flush();
                Thread up = Thread.ofVirtual().start(() -> pipe(in, target));
                pipe(target.getInputStream(), client);
                up.join();
            }
        } catch (Exception e) {
            // the test sees the outcome through the gateway
        }
    }

    private static void pipe(InputStream from, Socket to) {
        try {
            from.transferTo(to.getOutputStream());
            to.shutdownOutput();
        } catch (IOException ignored) {
            // one side closed
        }
    }
}
