package dev.skiff.config;

import java.util.Locale;
import java.util.Optional;

/**
 * The kinds of provider Skiff knows, with the environment prefix users already have for them and
 * the base URL to use when none is given. Local servers have no default: they are registered only
 * when their base URL is set, because guessing a port on the user's machine would be wrong.
 */
public enum ProviderType {
    OPENAI("https://api.openai.com/v1", true),
    /** Anthropic's Messages API: translated from and to OpenAI chat. */
    ANTHROPIC("https://api.anthropic.com/v1", true),
    GROQ("https://api.groq.com/openai/v1", true),
    XAI("https://api.x.ai/v1", true),
    CEREBRAS("https://api.cerebras.ai/v1", true),
    DEEPSEEK("https://api.deepseek.com/v1", true),
    MISTRAL("https://api.mistral.ai/v1", true),
    OPENROUTER("https://openrouter.ai/api/v1", true),
    TOGETHER("https://api.together.xyz/v1", true),
    FIREWORKS("https://api.fireworks.ai/inference/v1", true),
    VLLM(null, false),
    OLLAMA(null, false),
    LMSTUDIO(null, false),
    LLAMACPP(null, false),
    /** Azure OpenAI: OpenAI's wire format at deployment URLs, with an {@code api-key} header. */
    AZURE(null, true),
    /** Google Gemini's native API (not its OpenAI-compatible endpoint): translated. */
    GEMINI("https://generativelanguage.googleapis.com/v1beta", true),
    /** AWS Bedrock Converse / ConverseStream: translated; SigV4-signed, or a Bedrock API key. */
    BEDROCK(null, true);

    private final String defaultBaseUrl;
    private final boolean needsApiKey;

    ProviderType(String defaultBaseUrl, boolean needsApiKey) {
        this.defaultBaseUrl = defaultBaseUrl;
        this.needsApiKey = needsApiKey;
    }

    /** Base URL used when the configuration gives none; empty for local servers. */
    public Optional<String> defaultBaseUrl() {
        return Optional.ofNullable(defaultBaseUrl);
    }

    /** Hosted providers are registered by their key; local servers by their base URL. */
    public boolean needsApiKey() {
        return needsApiKey;
    }

    /** Prefix of this type's environment variables, e.g. {@code OPENROUTER}. */
    public String envPrefix() {
        return name();
    }

    /** The provider name of the default instance, e.g. {@code openrouter}. */
    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static Optional<ProviderType> fromId(String id) {
        for (ProviderType t : values()) {
            if (t.id().equals(id)) return Optional.of(t);
        }
        return Optional.empty();
    }
}
