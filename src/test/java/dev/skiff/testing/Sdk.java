package dev.skiff.testing;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.models.FunctionDefinition;
import com.openai.models.FunctionParameters;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/** The official openai-java SDK, set up the way the compatibility tests use it. */
public final class Sdk {
    private Sdk() {}

    /** A client of the gateway: no retries, so a failure shows as it is. */
    public static OpenAIClient client(TestGateway gw) {
        return OpenAIOkHttpClient.builder().baseUrl(gw.url("/v1")).apiKey("sk-client").maxRetries(0)
                .timeout(Duration.ofSeconds(10)).build();
    }

    /** The {@code get_weather(location)} function the tool round trips offer. */
    public static FunctionDefinition weatherFunction() {
        return FunctionDefinition.builder().name("get_weather").description("Current weather")
                .parameters(FunctionParameters.builder()
                        .putAdditionalProperty("type", JsonValue.from("object"))
                        .putAdditionalProperty("properties", JsonValue.from(Map.of("location", Map.of("type", "string"))))
                        .putAdditionalProperty("required", JsonValue.from(List.of("location")))
                        .build())
                .build();
    }
}
