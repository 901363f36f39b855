package dev.skiff.provider;

import dev.skiff.config.ProviderConfig;
import dev.skiff.config.ProviderType;
import dev.skiff.provider.anthropic.AnthropicChatAdapter;
import dev.skiff.provider.bedrock.BedrockChatAdapter;
import dev.skiff.provider.bedrock.BedrockEmbeddingsAdapter;
import dev.skiff.provider.gemini.GeminiChatAdapter;
import dev.skiff.provider.gemini.GeminiEmbeddingsAdapter;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.util.AsciiString;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * A configured provider as the request path uses it: where to connect, which path prefix its API
 * lives under, and the credential to apply. Everything is computed once at start-up so that
 * building an upstream request only copies ready values.
 */
public final class Provider {
    private static final AsciiString API_KEY = AsciiString.cached("api-key");
    private static final AsciiString X_API_KEY = AsciiString.cached("x-api-key");
    private static final AsciiString X_GOOG_API_KEY = AsciiString.cached("x-goog-api-key");
    private static final AsciiString ANTHROPIC_VERSION = AsciiString.cached("anthropic-version");
    /** The Messages API version Skiff's Anthropic translation is written against. */
    private static final AsciiString ANTHROPIC_VERSION_VALUE = AsciiString.cached("2023-06-01");
    private final ProviderConfig config;
    private final String host;
    private final int port;
    private final boolean tls;
    private final AsciiString hostHeader;
    private final String basePath;
    /** The provider's credentials, or null when it has none (a local server, or Bedrock signing with AWS keys). */
    private final KeyPool keys;
    private final String apiVersionQuery;

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
        boolean azure = config.type() == ProviderType.AZURE;
        this.keys = keyPool(config);
        this.apiVersionQuery = config.apiVersion() == null ? "" : "?api-version=" + URLEncoder.encode(config.apiVersion(), StandardCharsets.UTF_8);
        // Azure's resource endpoint may be given with or without its /openai path.
        this.azurePrefix = azure ? (basePath.endsWith("/openai") ? basePath : basePath + "/openai") : null;
    }

    private final String azurePrefix;

    /** The header each provider type takes its key in, and the key pool built over it. */
    private static KeyPool keyPool(ProviderConfig config) {
        if (config.apiKeys().isEmpty()) return null;
        AsciiString header = switch (config.type()) {
            case AZURE -> API_KEY;
            case ANTHROPIC -> X_API_KEY;
            case GEMINI -> X_GOOG_API_KEY;
            default -> HttpHeaderNames.AUTHORIZATION; // OpenAI-compatible, and Bedrock's API key
        };
        boolean bearer = header.contentEqualsIgnoreCase(HttpHeaderNames.AUTHORIZATION);
        // Forwarded requests set the key without Netty checking it per request: checked once here, a
        // line break in a key would otherwise end the header early on the wire.
        for (int i = 0; i < config.apiKeys().size(); i++) {
            String k = config.apiKeys().get(i);
            for (int j = 0; j < k.length(); j++) {
                char c = k.charAt(j);
                if (c < 0x20 && c != '\t' || c == 0x7f || c > 0xff) {
                    throw new IllegalArgumentException("provider " + config.name() + ": API key " + (i + 1)
                            + " contains a character a header cannot carry (a control character or line break)");
                }
            }
        }
        List<AsciiString> values = config.apiKeys().stream().map(k -> AsciiString.of(bearer ? "Bearer " + k : k)).toList();
        return new KeyPool(config.name(), header, values, config.keyCooldown());
    }

    /**
     * The provider's keys, or null when it has none. Retry logic reports an answer to it ({@link
     * KeyPool#report}) to learn whether another key is ready; every request built with {@link
     * #applyHeaders} takes the next ready key.
     */
    public KeyPool keys() {
        return keys;
    }

    /**
     * What the provider answered a request sent with {@code sent}: a key answered 429, 401 or 403
     * rests (see {@link KeyPool}). Returns whether another key is ready now. Called by the upstream
     * exchange for every response head, so every path (forwarded, translated, passthrough, listings)
     * feeds the pool.
     */
    public boolean reportAnswer(HttpHeaders sent, int status, HttpHeaders answer) {
        return keys != null && keys.report(sent, status, answer);
    }

    /**
     * The hook for retries: whether this provider has several keys and one is ready now. Every answer
     * has been reported to the pool (by the upstream exchange) before the caller sees it, so after a
     * 429, 401 or 403 this says whether resending at once goes out with another key.
     */
    public boolean hasReadyKey() {
        return keys != null && keys.hasReadyKey();
    }

    public String name() {
        return config.name();
    }

    public ProviderType type() {
        return config.type();
    }

    /** The translator for OpenAI embeddings requests, or null when the provider takes them as they are. */
    public EmbeddingsAdapter embeddingsAdapter() {
        return switch (config.type()) {
            case GEMINI -> GeminiEmbeddingsAdapter.INSTANCE;
            case BEDROCK -> BedrockEmbeddingsAdapter.INSTANCE;
            default -> null;
        };
    }

    /** The translator for OpenAI chat requests, or null when the provider speaks OpenAI's dialect. */
    public ChatAdapter chatAdapter() {
        return switch (config.type()) {
            case ANTHROPIC -> AnthropicChatAdapter.INSTANCE;
            case GEMINI -> GeminiChatAdapter.INSTANCE;
            case BEDROCK -> BedrockChatAdapter.INSTANCE;
            default -> null;
        };
    }

    /** Type-specific settings (see {@link ProviderConfig#settings()}). */
    public java.util.Map<String, String> settings() {
        return config.settings();
    }

    /**
     * The first configured key, or null when there is none: adapters that sign requests themselves
     * (Bedrock without an API key) ask it to know whether to sign; the key sent is {@link #keys}'s choice.
     */
    public String apiKey() {
        return config.apiKey();
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

    /** The request-target for an endpoint such as {@code /chat/completions}, for a model of this provider. */
    public String path(String endpoint, String model) {
        if (azurePrefix != null) { // the deployment is named in the URL
            return azurePrefix + "/deployments/" + URLEncoder.encode(model, StandardCharsets.UTF_8).replace("+", "%20")
                    + endpoint + apiVersionQuery;
        }
        return basePath + endpoint;
    }

    /** The path of the configured base URL, without a trailing slash ("" for none): passthrough paths are relative to it. */
    public String basePath() {
        return basePath;
    }

    /** Where the provider lists its models, or null when it has no listing Skiff can use. */
    public String modelsPath() {
        // Azure's data plane lists base models, not the deployments requests name, and Bedrock's
        // listing lives on another host (its control plane): declared models only.
        if (azurePrefix != null || type() == ProviderType.BEDROCK) return null;
        return basePath + "/models";
    }

    /** Sets the headers every upstream request to this provider carries, its next key among them. */
    public void applyHeaders(HttpHeaders headers) {
        headers.set(HttpHeaderNames.HOST, hostHeader);
        if (keys != null) keys.apply(headers); // the next ready key of the pool
        if (type() == ProviderType.ANTHROPIC) headers.set(ANTHROPIC_VERSION, ANTHROPIC_VERSION_VALUE);
    }

    @Override
    public String toString() {
        return name() + " (" + type().id() + ", " + dev.skiff.config.Redact.url(config.baseUrl()) + ")";
    }
}
