package dev.skiff.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RoutingSettingsTest {
    @TempDir
    Path dir;

    Config load(String yaml, String... env) throws Exception {
        Map<String, String> vars = new HashMap<>();
        for (int i = 0; i < env.length; i += 2) vars.put(env[i], env[i + 1]);
        if (yaml != null) Files.writeString(dir.resolve("config.yaml"), yaml);
        else Files.deleteIfExists(dir.resolve("config.yaml"));
        vars.put("SKIFF_DB", dir.resolve("skiff.db").toString());
        return ConfigLoader.load(vars, dir);
    }

    @Test
    void nothingConfiguredLeavesRoutingInactive() throws Exception {
        RoutingConfig r = load(null).routing();
        assertThat(r.active()).isFalse();
        assertThat(r.retry().maxRetries()).isZero();
        assertThat(r.retry().statuses()).containsExactlyInAnyOrder(408, 429, 502, 503, 504);
        assertThat(r.failover().statuses()).contains(429, 500, 503, 599).doesNotContain(400, 404);
    }

    @Test
    void goModelsVariablesAreRead() throws Exception {
        RoutingConfig r = load(null, "RETRY_MAX_RETRIES", "2", "RETRY_INITIAL_BACKOFF", "100ms", "RETRY_MAX_BACKOFF", "3s",
                "RETRY_BACKOFF_FACTOR", "1.5", "RETRY_ON_STATUSES", "429,5xx", "CIRCUIT_BREAKER_FAILURE_THRESHOLD", "7",
                "CIRCUIT_BREAKER_TIMEOUT", "10s", "FAILOVER_RULES_JSON", "{\"gpt-4o\":[\"azure/gpt-4o\",\"anthropic/claude-x\"]}",
                "VIRTUAL_MODELS", "[{\"source\":\"smart\",\"strategy\":\"round_robin\",\"targets\":[{\"model\":\"openai/gpt-4o\",\"weight\":2},"
                        + "{\"model\":\"claude-x\",\"provider\":\"anthropic\"}]}]",
                "FAILOVER_FIRST_TOKEN_TIMEOUT", "5s", "SKIFF_PROVIDER_PRIORITY", "openai,azure").routing();
        assertThat(r.active()).isTrue();
        assertThat(r.retry().maxRetries()).isEqualTo(2);
        assertThat(r.retry().initialBackoff()).isEqualTo(Duration.ofMillis(100));
        assertThat(r.retry().factor()).isEqualTo(1.5);
        assertThat(r.retry().statuses()).contains(429, 500, 502).doesNotContain(408);
        assertThat(r.breaker().failureThreshold()).isEqualTo(7);
        assertThat(r.fallbacks().get("gpt-4o")).containsExactly("azure/gpt-4o", "anthropic/claude-x");
        RoutingConfig.VirtualModel smart = r.virtualModels().get("smart");
        assertThat(smart.strategy()).isEqualTo(RoutingConfig.Strategy.ROUND_ROBIN);
        assertThat(smart.targets()).containsExactly(new RoutingConfig.WeightedTarget("openai/gpt-4o", 2),
                new RoutingConfig.WeightedTarget("anthropic/claude-x", 1));
        assertThat(r.failover().firstTokenTimeout()).isEqualTo(Duration.ofSeconds(5));
        assertThat(r.providerPriority()).containsExactly("openai", "azure");
    }

    @Test
    void theYamlSectionIsReadAndTheEnvironmentWins() throws Exception {
        String yaml = """
                routing:
                  retry:
                    max_retries: 4
                    on_statuses: [429, 503]
                  virtual_models:
                    smart:
                      strategy: least_latency
                      targets: [openai/gpt-4o, {model: anthropic/claude-x, weight: 0}]
                  session_header: X-Conversation
                """;
        RoutingConfig r = load(yaml, "RETRY_MAX_RETRIES", "1").routing();
        assertThat(r.retry().maxRetries()).isEqualTo(1);
        assertThat(r.retry().statuses()).containsExactlyInAnyOrder(429, 503);
        assertThat(r.virtualModels().get("smart").strategy()).isEqualTo(RoutingConfig.Strategy.LEAST_LATENCY);
        assertThat(r.virtualModels().get("smart").targets().get(1).weight()).isZero();
        assertThat(r.sessionHeader()).isEqualTo("X-Conversation");
    }

    @Test
    void mistakesStopStartUpWithTheSettingNamed() {
        assertThatThrownBy(() -> load("routing:\n  retry:\n    max_retrys: 2\n")).isInstanceOf(ConfigException.class)
                .hasMessageContaining("routing.retry.max_retrys").hasMessageContaining("max_retries");
        assertThatThrownBy(() -> load("routing:\n  virtual_models:\n    smart:\n      strategy: fastest\n      targets: [a/b]\n"))
                .isInstanceOf(ConfigException.class).hasMessageContaining("not a strategy");
        assertThatThrownBy(() -> load(null, "RETRY_ON_STATUSES", "429,abc")).isInstanceOf(ConfigException.class)
                .hasMessageContaining("RETRY_ON_STATUSES");
        assertThatThrownBy(() -> load(null, "VIRTUAL_MODELS", "[{\"strategy\":\"failover\"}]")).isInstanceOf(ConfigException.class)
                .hasMessageContaining("source");
    }
}
