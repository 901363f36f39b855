package dev.skiff.config;

import java.net.URI;
import java.util.List;
import java.util.Map;

/**
 * One configured provider instance.
 *
 * @param name    unique name clients use to qualify models ({@code openai}, {@code openai-east})
 * @param type    the API family it speaks
 * @param baseUrl where its API lives, ending before the endpoint path (e.g. {@code .../v1})
 * @param apiKey  credential applied server-side, or null for local servers without one
 * @param models  models the operator declares, served even before (or without) a listing
 * @param apiVersion the {@code api-version} query value (Azure), or null
 * @param settings   type-specific values, e.g. Bedrock's {@code aws_region}, {@code aws_access_key_id},
 *                   {@code aws_secret_access_key}, {@code aws_session_token}
 */
public record ProviderConfig(String name, ProviderType type, URI baseUrl, String apiKey, List<String> models, String apiVersion,
                             Map<String, String> settings) {
    public ProviderConfig {
        models = List.copyOf(models);
        settings = Map.copyOf(settings);
    }

    public ProviderConfig(String name, ProviderType type, URI baseUrl, String apiKey, List<String> models, String apiVersion) {
        this(name, type, baseUrl, apiKey, models, apiVersion, Map.of());
    }

    @Override
    public String toString() {
        // Never print the key.
        return "ProviderConfig[" + name + ", " + type.id() + ", " + Redact.url(baseUrl) + ", key=" + (apiKey == null ? "none" : "set")
                + ", models=" + models + (apiVersion == null ? "" : ", apiVersion=" + apiVersion)
                + (settings.containsKey("aws_region") ? ", region=" + settings.get("aws_region") : "") + "]"; // secrets never printed
    }
}
