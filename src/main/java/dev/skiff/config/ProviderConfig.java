package dev.skiff.config;

import java.net.URI;
import java.util.List;

/**
 * One configured provider instance.
 *
 * @param name    unique name clients use to qualify models ({@code openai}, {@code openai-east})
 * @param type    the API family it speaks
 * @param baseUrl where its API lives, ending before the endpoint path (e.g. {@code .../v1})
 * @param apiKey  credential applied server-side, or null for local servers without one
 * @param models  models the operator declares, served even before (or without) a listing
 * @param apiVersion the {@code api-version} query value (Azure), or null
 */
public record ProviderConfig(String name, ProviderType type, URI baseUrl, String apiKey, List<String> models, String apiVersion) {
    public ProviderConfig {
        models = List.copyOf(models);
    }

    @Override
    public String toString() {
        // Never print the key.
        return "ProviderConfig[" + name + ", " + type.id() + ", " + baseUrl + ", key=" + (apiKey == null ? "none" : "set")
                + ", models=" + models + (apiVersion == null ? "" : ", apiVersion=" + apiVersion) + "]";
    }
}
