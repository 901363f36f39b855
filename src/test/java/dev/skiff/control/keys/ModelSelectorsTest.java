package dev.skiff.control.keys;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class ModelSelectorsTest {
    @Test
    void selectorsMatchProviderQualifiedOrBareModels() {
        assertThat(ModelSelectors.allows(List.of("*"), "openai", "gpt-4o")).isTrue();
        assertThat(ModelSelectors.allows(List.of("anthropic/*"), "anthropic", "claude-sonnet-4")).isTrue();
        assertThat(ModelSelectors.allows(List.of("anthropic/*"), "openai", "gpt-4o")).isFalse();
        assertThat(ModelSelectors.allows(List.of("gpt-4o"), "openai", "gpt-4o")).isTrue();
        assertThat(ModelSelectors.allows(List.of("gpt-4o"), "azure", "gpt-4o")).isTrue();
        assertThat(ModelSelectors.allows(List.of("gpt-4o"), "openai", "gpt-4o-mini")).isFalse();
        assertThat(ModelSelectors.allows(List.of("openai/gpt-4o"), "azure", "gpt-4o")).isFalse();
        assertThat(ModelSelectors.allows(List.of("openai/gpt-4o"), "openai", "gpt-4o")).isTrue();
        assertThat(ModelSelectors.allows(List.of("anthropic/claude-*"), "anthropic", "claude-3-haiku")).isTrue();
        assertThat(ModelSelectors.allows(List.of("anthropic/claude-*"), "anthropic", "other")).isFalse();
        assertThat(ModelSelectors.allows(List.of("meta-llama/*"), "openrouter", "meta-llama/llama-3")).isTrue();
        assertThat(ModelSelectors.allows(List.of("*-mini"), "openai", "gpt-4o-mini")).isTrue();
        assertThat(ModelSelectors.allows(List.of(), "openai", "gpt-4o")).isFalse();
        assertThat(ModelSelectors.allows(List.of("a", "openai/*"), "openai", "x")).isTrue();
    }

    @Test
    void emptyOrSpacedSelectorsAreRefused() {
        assertThatThrownBy(() -> ModelSelectors.validate(" ")).hasMessageContaining("empty");
        assertThatThrownBy(() -> ModelSelectors.validate("gpt 4")).hasMessageContaining("whitespace");
        assertThat(ModelSelectors.validate(" gpt-4o ")).isEqualTo("gpt-4o");
    }
}
