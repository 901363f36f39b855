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
    private final AsciiString authorization;
    private final AsciiString azureKey;
    private final AsciiString anthropicKey;
    private final AsciiString geminiKey;
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
        boolean anthropic = config.type() == ProviderType.ANTHROPIC;
        boolean gemini = config.type() == ProviderType.GEMINI;
        this.authorization = config.apiKey() == null || azure || anthropic || gemini ? null : AsciiString.of("Bearer " + config.apiKey());
        this.geminiKey = config.apiKey() != null && gemini ? AsciiString.of(config.apiKey()) : null;
        this.azureKey = config.apiKey() != null && azure ? AsciiString.of(config.apiKey()) : null;
        this.anthropicKey = config.apiKey() != null && anthropic ? AsciiString.of(config.apiKey()) : null;
        this.apiVersionQuery = config.apiVersion() == null ? "" : "?api-version=" + URLEncoder.encode(config.apiVersion(), StandardCharsets.UTF_8);
        // Azure's resource endpoint may be given with or without its /openai path.
        this.azurePrefix = azure ? (basePath.endsWith("/openai") ? basePath : basePath + "/openai") : null;
    }

    private final String azurePrefix;

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

    /** The credential from the configuration, for adapters that sign requests themselves; null if none. */
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

    /** Sets the headers every upstream request to this provider carries. */
    public void applyHeaders(HttpHeaders headers) {
        headers.set(HttpHeaderNames.HOST, hostHeader);
        if (authorization != null) headers.set(HttpHeaderNames.AUTHORIZATION, authorization);
        if (azureKey != null) headers.set(API_KEY, azureKey);
        if (anthropicKey != null) headers.set(X_API_KEY, anthropicKey);
        if (geminiKey != null) headers.set(X_GOOG_API_KEY, geminiKey);
        if (type() == ProviderType.ANTHROPIC) headers.set(ANTHROPIC_VERSION, ANTHROPIC_VERSION_VALUE);
    }

    @Override
    public String toString() {
        return name() + " (" + type().id() + ", " + dev.skiff.config.Redact.url(config.baseUrl()) + ")";
    }
}
