package dev.skiff.upstream;

import java.net.InetSocketAddress;
import java.net.URI;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The outbound proxy from {@code HTTPS_PROXY} / {@code HTTP_PROXY} (either case) and the hosts that
 * bypass it from {@code NO_PROXY}: a list of host names, domain suffixes ({@code .corp} or
 * {@code corp}), IP literals, or {@code *}. Loopback never goes through a proxy.
 */
public record ProxySettings(InetSocketAddress https, InetSocketAddress http, List<String> noProxy) {
    public static final ProxySettings NONE = new ProxySettings(null, null, List.of());

    public static ProxySettings fromEnvironment(Map<String, String> env) {
        InetSocketAddress https = address(first(env, "HTTPS_PROXY", "https_proxy"));
        InetSocketAddress http = address(first(env, "HTTP_PROXY", "http_proxy"));
        String no = first(env, "NO_PROXY", "no_proxy");
        List<String> noProxy = no == null ? List.of()
                : Arrays.stream(no.split(",")).map(s -> s.strip().toLowerCase(Locale.ROOT)).filter(s -> !s.isEmpty()).toList();
        return new ProxySettings(https, http, noProxy);
    }

    /** The proxy to use for this host, or null to connect directly. */
    public InetSocketAddress proxyFor(String host, boolean tls) {
        InetSocketAddress proxy = tls ? https : http;
        if (proxy == null || bypass(host.toLowerCase(Locale.ROOT))) return null;
        return proxy;
    }

    private boolean bypass(String host) {
        if (host.equals("localhost") || host.startsWith("127.") || host.equals("::1") || host.equals("[::1]")) return true;
        for (String rule : noProxy) {
            if (rule.equals("*")) return true;
            String suffix = rule.startsWith(".") ? rule : "." + rule;
            if (host.equals(rule) || host.equals(suffix.substring(1)) || host.endsWith(suffix)) return true;
        }
        return false;
    }

    private static String first(Map<String, String> env, String a, String b) {
        String v = env.get(a);
        if (v == null || v.isBlank()) v = env.get(b);
        return v == null || v.isBlank() ? null : v.strip();
    }

    private static InetSocketAddress address(String value) {
        if (value == null) return null;
        URI uri = URI.create(value.contains("://") ? value : "http://" + value);
        int port = uri.getPort() != -1 ? uri.getPort() : "https".equalsIgnoreCase(uri.getScheme()) ? 443 : 80;
        // Resolved once, at start-up: the proxy's own name is the one lookup Skiff does up front.
        return new InetSocketAddress(uri.getHost(), port);
    }
}
