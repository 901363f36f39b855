package dev.skiff.bench;

import java.net.URI;

/** Where requests go: parsed once from {@code http://host:port/path?query}. Plain HTTP only. */
record Target(String host, int port, String pathAndQuery) {

    static Target parse(String url) {
        URI uri = URI.create(url);
        if (!"http".equalsIgnoreCase(uri.getScheme())) {
            throw new IllegalArgumentException("only http:// URLs are supported, got: " + url);
        }
        if (uri.getHost() == null) throw new IllegalArgumentException("no host in URL: " + url);
        int port = uri.getPort() == -1 ? 80 : uri.getPort();
        String path = uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/" : uri.getRawPath();
        if (uri.getRawQuery() != null) path += "?" + uri.getRawQuery();
        return new Target(uri.getHost(), port, path);
    }

    String hostHeader() {
        return port == 80 ? host : host + ":" + port;
    }
}
