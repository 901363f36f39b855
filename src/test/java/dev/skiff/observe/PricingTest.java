package dev.skiff.observe;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.skiff.config.ProviderType;
import dev.skiff.dialect.Usage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PricingTest {
    private static final Pricing SHIPPED = Pricing.shipped();

    @TempDir Path dir;

    @Test
    void aKnownModelIsPricedPerClassInPicodollarsPerToken() {
        Pricing.Price p = SHIPPED.find(ProviderType.OPENAI, "gpt-4o");
        assertThat(p).isEqualTo(new Pricing.Price(2_500_000, 1_250_000, 2_500_000, 10_000_000, 10_000_000));
        // 1000 uncached + 200 cached input, 100 output, 50 reasoning:
        // 1000*2.5 + 200*1.25 + 100*10 + 50*10 = 4250 microdollars = 4_250_000 nanodollars.
        Tokens t = new Tokens(1000, 200, 0, 100, 50, true);
        assertThat(SHIPPED.costNanos(ProviderType.OPENAI, "gpt-4o", t)).isEqualTo(4_250_000L);
    }

    @Test
    void classesComeFromUsageWithoutOverlap() {
        // OpenAI-normalized usage: prompt 1200 of which 200 cached, completion 150 of which 50 reasoning.
        Tokens t = Tokens.of(new Usage(1200, 150, 1350, 200, 50));
        assertThat(t).isEqualTo(new Tokens(1000, 200, 0, 100, 50, true));
        assertThat(t.total()).isEqualTo(1350);
        // Anthropic: input excludes cache reads and writes; Usage adds them into the prompt.
        Tokens a = Tokens.of(Usage.fromUncachedInput(10, 100, 40, 7));
        assertThat(a).isEqualTo(new Tokens(10, 100, 40, 7, 0, true));
        assertThat(Tokens.of(Usage.NONE).reported()).isFalse();
    }

    @Test
    void aDatedSnapshotIsPricedAsItsModel() {
        assertThat(SHIPPED.find(ProviderType.OPENAI, "gpt-4o-2024-08-06")).isEqualTo(SHIPPED.find(ProviderType.OPENAI, "gpt-4o"));
        assertThat(SHIPPED.find(ProviderType.ANTHROPIC, "claude-3-5-haiku-20241022"))
                .isEqualTo(SHIPPED.find(ProviderType.ANTHROPIC, "claude-3-5-haiku")).isNotNull();
        assertThat(SHIPPED.find(ProviderType.MISTRAL, "mistral-large-latest")).isEqualTo(SHIPPED.find(ProviderType.MISTRAL, "mistral-large"));
        // An older snapshot with a price of its own keeps it.
        assertThat(SHIPPED.find(ProviderType.MISTRAL, "mistral-large-2411").input()).isEqualTo(2_000_000);
    }

    @Test
    void providerPrefixedNamesFindTheVendorsModel() {
        Pricing.Price sonnet = SHIPPED.find(ProviderType.ANTHROPIC, "claude-sonnet-4-5");
        assertThat(SHIPPED.find(ProviderType.BEDROCK, "us.anthropic.claude-sonnet-4-5-20250929-v1:0")).isEqualTo(sonnet);
        assertThat(SHIPPED.find(ProviderType.BEDROCK,
                "arn:aws:bedrock:us-east-1:123456789012:inference-profile/global.anthropic.claude-sonnet-4-5-20250929-v1:0")).isEqualTo(sonnet);
        assertThat(SHIPPED.find(ProviderType.BEDROCK, "amazon.nova-micro-v1:0").input()).isEqualTo(35_000);
        assertThat(SHIPPED.find(ProviderType.OPENROUTER, "anthropic/claude-sonnet-4.5")).isEqualTo(sonnet);
        assertThat(SHIPPED.find(ProviderType.OPENROUTER, "openai/gpt-4o-mini")).isEqualTo(SHIPPED.find(ProviderType.OPENAI, "gpt-4o-mini"));
        // Azure deployments named as OpenAI's models are priced as OpenAI's.
        assertThat(SHIPPED.find(ProviderType.AZURE, "gpt-4o")).isEqualTo(SHIPPED.find(ProviderType.OPENAI, "gpt-4o"));
        // OpenRouter's vendor prefix decides the table: an OpenAI name under another vendor is not OpenAI's price.
        assertThat(SHIPPED.find(ProviderType.OPENROUTER, "meta-llama/gpt-4o")).isNull();
    }

    @Test
    void anUnknownModelHasAnUnknownCostNotZero() {
        Tokens t = new Tokens(10, 0, 0, 10, 0, true);
        assertThat(SHIPPED.find(ProviderType.OPENAI, "gpt-unheard-of")).isNull();
        assertThat(SHIPPED.costNanos(ProviderType.OPENAI, "gpt-unheard-of", t)).isNull();
        assertThat(SHIPPED.costNanos(ProviderType.TOGETHER, "gpt-4o", t)).isNull();
        assertThat(SHIPPED.costNanos(null, "gpt-4o", t)).isNull();
        // A local server costs nothing, whatever it serves.
        assertThat(SHIPPED.costNanos(ProviderType.OLLAMA, "llama3.2", t)).isZero();
    }

    @Test
    void everyProviderTypeOfTheBriefHasEntriesAndTheCatalogSaysWhenItWasChecked() {
        assertThat(SHIPPED.checked()).matches("\\d{4}-\\d{2}-\\d{2}");
        for (var e : java.util.Map.of(ProviderType.OPENAI, "gpt-5", ProviderType.ANTHROPIC, "claude-haiku-4-5", ProviderType.GEMINI,
                "gemini-2.5-flash", ProviderType.GROQ, "llama-3.3-70b-versatile", ProviderType.XAI, "grok-4", ProviderType.CEREBRAS,
                "llama3.1-8b", ProviderType.DEEPSEEK, "deepseek-chat", ProviderType.MISTRAL, "mistral-small-latest",
                ProviderType.BEDROCK, "meta.llama3-3-70b-instruct-v1:0").entrySet()) {
            assertThat(SHIPPED.find(e.getKey(), e.getValue())).as(e.getKey() + " " + e.getValue()).isNotNull();
        }
    }

    @Test
    void anOverrideFileAddsAndReplacesEntries() throws IOException {
        Path file = dir.resolve("prices.yaml");
        Files.writeString(file, """
                providers:
                  openai:
                    gpt-4o: {input: 1, output: 2}
                    my-finetune: {input: 0.000001, cached_input: 0, output: 3, reasoning: 4}
                  together:
                    meta-llama/Llama-3.3-70B-Instruct-Turbo: {input: 0.88, output: 0.88}
                """);
        Pricing p = Pricing.load(file.toString());
        assertThat(p.find(ProviderType.OPENAI, "gpt-4o")).isEqualTo(new Pricing.Price(1_000_000, 1_000_000, 1_000_000, 2_000_000, 2_000_000));
        assertThat(p.find(ProviderType.OPENAI, "my-finetune")).isEqualTo(new Pricing.Price(1, 0, 1, 3_000_000, 4_000_000));
        assertThat(p.find(ProviderType.TOGETHER, "meta-llama/llama-3.3-70b-instruct-turbo")).isNotNull();
        // What the file does not name is still the shipped price.
        assertThat(p.find(ProviderType.OPENAI, "gpt-4o-mini")).isEqualTo(SHIPPED.find(ProviderType.OPENAI, "gpt-4o-mini"));
    }

    @Test
    void aBadOverrideFileIsRefusedNamingWhatIsWrong() throws IOException {
        Path file = dir.resolve("bad.yaml");
        Files.writeString(file, "providers:\n  openai:\n    gpt-4o: {input: 1, outptu: 2}\n");
        assertThatThrownBy(() -> Pricing.load(file.toString())).hasMessageContaining("outptu").hasMessageContaining("bad.yaml");
        Files.writeString(file, "providers:\n  opneai:\n    gpt-4o: {input: 1, output: 2}\n");
        assertThatThrownBy(() -> Pricing.load(file.toString())).hasMessageContaining("opneai");
        Files.writeString(file, "providers:\n  openai:\n    gpt-4o: {input: -1, output: 2}\n");
        assertThatThrownBy(() -> Pricing.load(file.toString())).hasMessageContaining("negative");
    }

    @Test
    void dollarsAreWrittenPlainly() {
        assertThat(Pricing.usd(4_250_000).toPlainString()).isEqualTo("0.00425");
        assertThat(Pricing.usd(10_000_000_000L).toString()).isEqualTo("10");
        assertThat(Pricing.usd(0).toString()).isEqualTo("0");
    }

    static UsageRecord call(String provider, ProviderType type, String model, int status, Usage usage) {
        return new UsageRecord(1, "r", "chat", provider, type, model, model, true, status, usage, 1, 1, 1, null, null, null, 1);
    }

    @Test
    void whatARecordCostsDependsOnWhoAnsweredAndHow() {
        Usage some = new Usage(10, 5, 15, 0, 0);
        assertThat(UsageRow.of(call(null, null, null, 401, Usage.NONE), SHIPPED).costNanos()).isZero(); // Skiff refused it
        assertThat(UsageRow.of(call("openai", ProviderType.OPENAI, "gpt-4o", 429, Usage.NONE), SHIPPED).costNanos()).isZero();
        assertThat(UsageRow.of(call("openai", ProviderType.OPENAI, "gpt-4o", 200, Usage.NONE), SHIPPED).costNanos()).isNull();
        assertThat(UsageRow.of(call("openai", ProviderType.OPENAI, "gpt-4o", 200, some), SHIPPED).costNanos()).isEqualTo(75_000L);
        // The client left mid-stream: tokens seen are kept, the cost is unknown.
        UsageRow cut = UsageRow.of(call("openai", ProviderType.OPENAI, "gpt-4o", 499, some), SHIPPED);
        assertThat(cut.costNanos()).isNull();
        assertThat(cut.tokens().input()).isEqualTo(10);
        assertThat(UsageRow.of(call("ollama", ProviderType.OLLAMA, "llama3.2", 499, Usage.NONE), SHIPPED).costNanos()).isZero();
        assertThat(UsageRow.of(call("openai", ProviderType.OPENAI, "gpt-nobody", 200, some), SHIPPED).costNanos()).isNull();
    }
}
