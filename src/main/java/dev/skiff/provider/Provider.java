package dev.skiff.provider;

import dev.skiff.config.ProviderConfig;
import dev.skiff.config.ProviderType;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.util.AsciiString;
import java.net.URI;
import java.util.List;

/**
 * A configured provider as the request path uses it: where to connect, which path prefix its API
 * lives under, and the credential to apply. Everything is computed once at start-up so that
 * building an upstream request only copies ready values.
 */
public final class Provider {
    private final ProviderConfig config;
    private final String host;
    private final int port;
    private final boolean tls;
    private final AsciiString hostHeader;
    private final String basePath;
    private final AsciiString authorization;

    public Provider(ProviderConfig config) {
        this.config = config;
        URI base = config.baseUrl();
        this.tls = base.getScheme().equalsIgnoreCase("https");
        this.host = base.getHost();
        int defaultPort = tls ? 443 : 80;
        this.port = base.getPort() == -1 ? defaultPort : base.getPort();
        this.hostHeader = AsciiString.of(port == defaultPort ? host : host + ":" + port);
        String path = base.getRawPath() == null ? "" : base.getRawPath();
        this.basePath = path.endsWith("/") ? path.substring(0, path.length() - 1) : path;
        this.authorization = config.apiKey() == null ? null : AsciiString.of("Bearer " + config.apiKey());
    }

    public String name() {
        return config.name();
    }

    public ProviderType type() {
        return config.type();
    }

    public List<String> configuredModels() {
        return config.models();
    }

    public String host() {
        return host;
    }

    public int port() {
        return port;
    }

    public boolean tls() {
        return tls;
    }

    /** The request-target for an endpoint such as {@code /chat/completions}. */
    public String path(String endpoint) {
        return basePath + endpoint;
    }

    /** Sets the headers every upstream request to this provider carries. */
    public void applyHeaders(HttpHeaders headers) {
        headers.set(HttpHeaderNames.HOST, hostHeader);
        if (authorization != null) headers.set(HttpHeaderNames.AUTHORIZATION, authorization);
    }

    @Override
    public String toString() {
        return name() + " (" + type().id() + ", " + config.baseUrl() + ")";
    }
}
