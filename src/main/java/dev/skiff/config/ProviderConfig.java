package dev.skiff.config;

import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * One configured provider instance.
 *
 * @param name    unique name clients use to qualify models ({@code openai}, {@code openai-east})
 * @param type    the API family it speaks
 * @param baseUrl where its API lives, ending before the endpoint path (e.g. {@code .../v1})
 * @param apiKey  credential applied server-side, or null for local servers without one; with a key
 *                pool, the first of {@code apiKeys}
 * @param models  models the operator declares, served even before (or without) a listing
 * @param apiVersion the {@code api-version} query value (Azure), or null
 * @param settings   type-specific values, e.g. Bedrock's {@code aws_region}, {@code aws_access_key_id},
 *                   {@code aws_secret_access_key}, {@code aws_session_token}
 * @param apiKeys    every key of the provider's pool, {@code apiKey} first; empty when it has none
 * @param keyCooldown how long a key the provider answered 429 rests when no {@code Retry-After} says
 */
public record ProviderConfig(String name, ProviderType type, URI baseUrl, String apiKey, List<String> models, String apiVersion,
                             Map<String, String> settings, List<String> apiKeys, Duration keyCooldown) {
    /** A 429 without {@code Retry-After} rests its key this long unless configured otherwise. */
    public static final Duration DEFAULT_KEY_COOLDOWN = Duration.ofSeconds(60);

    public ProviderConfig {
        models = List.copyOf(models);
        settings = Map.copyOf(settings);
        apiKeys = List.copyOf(apiKeys);
        if (apiKey == null && !apiKeys.isEmpty()) apiKey = apiKeys.getFirst();
        if (apiKey != null && apiKeys.isEmpty()) apiKeys = List.of(apiKey);
        if (apiKey != null && !apiKey.equals(apiKeys.getFirst())) throw new IllegalArgumentException("apiKey must be the pool's first key");
    }

    public ProviderConfig(String name, ProviderType type, URI baseUrl, String apiKey, List<String> models, String apiVersion,
                          Map<String, String> settings) {
        this(name, type, baseUrl, apiKey, models, apiVersion, settings, List.of(), DEFAULT_KEY_COOLDOWN);
    }

    public ProviderConfig(String name, ProviderType type, URI baseUrl, String apiKey, List<String> models, String apiVersion) {
        this(name, type, baseUrl, apiKey, models, apiVersion, Map.of());
    }

    @Override
    public String toString() {
        // Never print the key.
        return "ProviderConfig[" + name + ", " + type.id() + ", " + Redact.url(baseUrl) + ", key=" + (apiKey == null ? "none" : apiKeys.size() == 1 ? "set" : apiKeys.size() + " keys")
                + ", models=" + models + (apiVersion == null ? "" : ", apiVersion=" + apiVersion)
                + (settings.containsKey("aws_region") ? ", region=" + settings.get("aws_region") : "") + "]"; // secrets never printed
    }
}
