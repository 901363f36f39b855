package dev.skiff.server;

import dev.skiff.admin.DashboardSessions;
import dev.skiff.control.Caller;
import dev.skiff.control.MasterKeyAuth;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/**
 * {@code /ui}: the dashboard, plain HTML, CSS and JavaScript from {@code src/main/resources/ui}, and
 * its login. The files are read from the jar at their first request (nothing at start-up) and kept;
 * they are a few tens of kilobytes. The page itself holds no data: it calls the admin API, which
 * {@link DashboardSessions} lets a logged-in browser use.
 *
 * <ul>
 *   <li>{@code GET /ui}, {@code /ui/<file>}: the page and its files, with a Content-Security-Policy
 *       that allows only Skiff's own scripts and styles, and images inline ({@code data:}).
 *   <li>{@code POST /ui/login} with the master key or an admin key as {@code Authorization: Bearer}
 *       (or {@code x-api-key}) and the {@code x-skiff-ui} header: sets the session cookie.
 *   <li>{@code POST /ui/logout}: ends the session. {@code GET /ui/session}: whether there is one.
 * </ul>
 */
final class Dashboard {
    private static final Pattern FILE = Pattern.compile("[A-Za-z0-9_-]+\\.(html|js|css|svg|txt)");
    private static final Map<String, String> TYPES = Map.of("html", "text/html; charset=utf-8", "js", "text/javascript; charset=utf-8",
            "css", "text/css; charset=utf-8", "svg", "image/svg+xml", "txt", "text/plain; charset=utf-8");
    private static final String CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
            + "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
    private static final byte[] MISSING = new byte[0];

    private final Map<String, byte[]> files = new ConcurrentHashMap<>();
    private final DashboardSessions sessions;

    Dashboard(DashboardSessions sessions) {
        this.sessions = sessions;
    }

    static boolean matches(String path) {
        return path.equals("/ui") || path.startsWith("/ui/");
    }

    void handle(ChannelHandlerContext ctx, FullHttpRequest req, String path, String requestId, boolean keepAlive, Gateway gateway) {
        String rest = path.equals("/ui") ? "" : path.substring(4);
        switch (rest) {
            case "login" -> {
                if (gateway.allow(ctx, req, dev.skiff.dialect.ClientDialect.OPENAI_CHAT, requestId, keepAlive, HttpMethod.POST)) {
                    login(ctx, req, requestId, keepAlive, gateway);
                }
            }
            case "logout" -> {
                if (gateway.allow(ctx, req, dev.skiff.dialect.ClientDialect.OPENAI_CHAT, requestId, keepAlive, HttpMethod.POST)) {
                    sessions.close(DashboardSessions.tokenOf(req.headers()));
                    FullHttpResponse r = json(HttpResponseStatus.OK, "{\"ok\":true}", requestId);
                    r.headers().set(HttpHeaderNames.SET_COOKIE, DashboardSessions.clearedCookie(secure(req.headers())));
                    gateway.reply(ctx, r, keepAlive, requestId, "ui", null);
                }
            }
            case "session" -> {
                if (gateway.allow(ctx, req, dev.skiff.dialect.ClientDialect.OPENAI_CHAT, requestId, keepAlive, HttpMethod.GET)) {
                    boolean open = !gateway.auth().enabled();
                    boolean in = open || sessions.caller(DashboardSessions.tokenOf(req.headers())) != null;
                    Replies.send(ctx, json(HttpResponseStatus.OK, "{\"authenticated\":" + in + ",\"open\":" + open + "}", requestId), keepAlive);
                }
            }
            default -> {
                if (!gateway.allow(ctx, req, dev.skiff.dialect.ClientDialect.OPENAI_CHAT, requestId, keepAlive, HttpMethod.GET, HttpMethod.HEAD)) {
                    return;
                }
                String name = rest.isEmpty() ? "index.html" : rest;
                byte[] body = FILE.matcher(name).matches() ? file(name) : MISSING;
                if (body == MISSING) {
                    gateway.reply(ctx, Replies.openAiError(ctx, 404, "Unknown path " + path + ".", "unknown_url", requestId), keepAlive,
                            requestId, "unknown", "unknown path");
                    return;
                }
                FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
                        req.method().equals(HttpMethod.HEAD) ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(body));
                r.headers().set(HttpHeaderNames.CONTENT_TYPE, TYPES.get(name.substring(name.lastIndexOf('.') + 1)))
                        .setInt(HttpHeaderNames.CONTENT_LENGTH, body.length)
                        .set(HttpHeaderNames.CACHE_CONTROL, "no-cache")
                        .set(Replies.X_REQUEST_ID, requestId);
                secureHeaders(r.headers());
                Replies.send(ctx, r, keepAlive);
            }
        }
    }

    private void login(ChannelHandlerContext ctx, FullHttpRequest req, String requestId, boolean keepAlive, Gateway gateway) {
        HttpHeaders h = req.headers();
        if (!h.contains(DashboardSessions.UI_HEADER) || "cross-site".equals(h.get("sec-fetch-site"))) {
            gateway.reply(ctx, Replies.openAiError(ctx, 403, "Log in from Skiff's own dashboard page.", "csrf_refused", requestId), keepAlive,
                    requestId, "ui", "login without the dashboard's header");
            return;
        }
        if (!gateway.auth().enabled()) {
            gateway.reply(ctx, json(HttpResponseStatus.OK, "{\"ok\":true,\"open\":true}", requestId), keepAlive, requestId, "ui", null);
            return;
        }
        boolean presented = h.contains(HttpHeaderNames.AUTHORIZATION) || h.contains("x-api-key");
        MasterKeyAuth.Verdict v = presented ? gateway.auth().check(h) : new MasterKeyAuth.Missing();
        FullHttpResponse r;
        String error = null;
        switch (v) {
            case MasterKeyAuth.Allowed a when a.caller().isAdmin() && a.caller() != Caller.OPEN -> {
                r = json(HttpResponseStatus.OK, "{\"ok\":true}", requestId);
                r.headers().set(HttpHeaderNames.SET_COOKIE, DashboardSessions.cookie(sessions.open(a.caller()), secure(h)));
            }
            case MasterKeyAuth.Allowed a -> {
                error = "This API key may not use the admin API: it needs the 'admin' scope, or use the master key.";
                r = Replies.openAiError(ctx, 403, error, "insufficient_permissions", requestId);
            }
            case MasterKeyAuth.Wrong w -> {
                error = w.message();
                r = Replies.openAiError(ctx, 401, error, "invalid_api_key", requestId);
            }
            case MasterKeyAuth.Missing m -> {
                error = "Give the master key or an admin key.";
                r = Replies.openAiError(ctx, 401, error, "invalid_api_key", requestId);
            }
            case MasterKeyAuth.Unavailable u -> {
                error = u.message();
                r = Replies.openAiError(ctx, 503, error, "keys_unavailable", requestId);
            }
        }
        r.headers().set(HttpHeaderNames.CACHE_CONTROL, "no-store");
        gateway.reply(ctx, r, keepAlive, requestId, "ui", error);
    }

    /** Whether the browser reached Skiff over HTTPS (through a proxy that terminates TLS and says so). */
    private static boolean secure(HttpHeaders h) {
        return "https".equalsIgnoreCase(h.get("x-forwarded-proto"));
    }

    private static void secureHeaders(HttpHeaders h) {
        h.set("content-security-policy", CSP)
                .set("x-content-type-options", "nosniff")
                .set("x-frame-options", "DENY")
                .set("referrer-policy", "no-referrer");
    }

    private static FullHttpResponse json(HttpResponseStatus status, String body, String requestId) {
        FullHttpResponse r = Replies.json(status, body.getBytes(StandardCharsets.UTF_8), requestId);
        r.headers().set(HttpHeaderNames.CACHE_CONTROL, "no-store");
        return r;
    }

    /** A file of the dashboard, read once from the jar; {@link #MISSING} when there is none. */
    private byte[] file(String name) {
        return files.computeIfAbsent(name, n -> {
            try (InputStream in = Dashboard.class.getResourceAsStream("/ui/" + n)) {
                return in == null ? MISSING : in.readAllBytes();
            } catch (IOException e) {
                return MISSING;
            }
        });
    }
}
