package dev.skiff.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Disabled;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class ConfigLoaderTest {
    @TempDir
    Path dir;

    private static Map<String, String> env(String... pairs) {
        Map<String, String> m = new HashMap<>();
        for (int i = 0; i < pairs.length; i += 2) m.put(pairs[i], pairs[i + 1]);
        return m;
    }

    private Config load(String... pairs) {
        return ConfigLoader.load(env(pairs), dir);
    }

    private static ProviderConfig provider(Config c, String name) {
        return c.providers().stream().filter(p -> p.name().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no provider " + name + " in " + c.providers()));
    }

    private ConfigException failure(String... pairs) {
        try {
            Config c = load(pairs);
            throw new AssertionError("accepted: " + c);
        } catch (ConfigException e) {
            return e;
        }
    }

    private Path yaml(String name, String text) throws IOException {
        Path f = dir.resolve(name);
        Files.writeString(f, text);
        return f;
    }

    // ---- defaults and server settings ------------------------------------------------------

    @Test
    void emptyEnvironmentGivesDefaultsAndNoProviders() {
        Config c = load();
        assertThat(c.host()).isEqualTo("0.0.0.0");
        assertThat(c.port()).isEqualTo(8080);
        assertThat(c.maxBodyBytes()).isEqualTo(10L << 20);
        assertThat(c.masterKey()).isNull();
        assertThat(c.timeouts()).isEqualTo(Timeouts.defaults());
        assertThat(c.modelsRefresh()).isEqualTo(Duration.ofMinutes(5));
        assertThat(c.usageLog()).isEqualTo("stdout");
        assertThat(c.providers()).isEmpty();
        assertThat(c.ioThreads()).isPositive();
    }

    @Test
    void serverSettingsFromEnvironment() {
        Config c = load("SKIFF_HOST", "127.0.0.1", "PORT", "9000", "SKIFF_IO_THREADS", "3", "SKIFF_MAX_BODY_BYTES", "512k",
                "SKIFF_MASTER_KEY", "sk-master", "SKIFF_CONNECT_TIMEOUT", "500ms", "SKIFF_FIRST_BYTE_TIMEOUT", "30",
                "SKIFF_IDLE_TIMEOUT", "2m", "SKIFF_TOTAL_TIMEOUT", "1h", "SKIFF_MODELS_REFRESH", "90s", "SKIFF_USAGE_LOG", "off");
        assertThat(c.host()).isEqualTo("127.0.0.1");
        assertThat(c.port()).isEqualTo(9000);
        assertThat(c.ioThreads()).isEqualTo(3);
        assertThat(c.maxBodyBytes()).isEqualTo(512 * 1024);
        assertThat(c.masterKey()).isEqualTo("sk-master");
        assertThat(c.timeouts()).isEqualTo(new Timeouts(Duration.ofMillis(500), Duration.ofSeconds(30), Duration.ofMinutes(2), Duration.ofHours(1)));
        assertThat(c.modelsRefresh()).isEqualTo(Duration.ofSeconds(90));
        assertThat(c.usageLog()).isEqualTo("off");
        assertThat(c.toString()).doesNotContain("sk-master");
    }

    @Test
    void portWinsOverSkiffPort() {
        assertThat(load("SKIFF_PORT", "7000").port()).isEqualTo(7000);
        assertThat(load("SKIFF_PORT", "7000", "PORT", "7001").port()).isEqualTo(7001);
    }

    // ---- providers from the environment ------------------------------------------------------

    @Test
    void openAiKeyRegistersOpenAiWithItsDefaultUrl() {
        Config c = load("OPENAI_API_KEY", "sk-test");
        assertThat(c.providers()).hasSize(1);
        ProviderConfig p = provider(c, "openai");
        assertThat(p.type()).isEqualTo(ProviderType.OPENAI);
        assertThat(p.apiKey()).isEqualTo("sk-test");
        assertThat(p.baseUrl()).isEqualTo(URI.create("https://api.openai.com/v1"));
        assertThat(p.models()).isEmpty();
        assertThat(p.toString()).doesNotContain("sk-test");
    }

    @Test
    void baseUrlOverridesTheDefaultAndLosesTrailingSlashes() {
        ProviderConfig p = provider(load("OPENAI_API_KEY", "k", "OPENAI_BASE_URL", "http://127.0.0.1:8081/proxy/v1//"), "openai");
        assertThat(p.baseUrl()).isEqualTo(URI.create("http://127.0.0.1:8081/proxy/v1"));
    }

    @Test
    void suffixedInstanceIsItsOwnProvider() {
        Config c = load("OPENAI_API_KEY", "k1", "OPENAI_EAST_API_KEY", "k2", "OPENAI_EAST_BASE_URL", "https://east.example.com/v1",
                "OPENAI_EU_WEST_API_KEY", "k3");
        assertThat(c.providers()).extracting(ProviderConfig::name).containsExactlyInAnyOrder("openai", "openai-east", "openai-eu-west");
        ProviderConfig east = provider(c, "openai-east");
        assertThat(east.type()).isEqualTo(ProviderType.OPENAI);
        assertThat(east.apiKey()).isEqualTo("k2");
        assertThat(east.baseUrl()).isEqualTo(URI.create("https://east.example.com/v1"));
        assertThat(provider(c, "openai-eu-west").apiKey()).isEqualTo("k3");
        assertThat(provider(c, "openai").apiKey()).isEqualTo("k1");
    }

    @Test
    void openRouterIsNotMistakenForOpenAi() {
        Config c = load("OPENROUTER_API_KEY", "or-key");
        assertThat(c.providers()).hasSize(1);
        ProviderConfig p = provider(c, "openrouter");
        assertThat(p.type()).isEqualTo(ProviderType.OPENROUTER);
        assertThat(p.baseUrl()).isEqualTo(URI.create("https://openrouter.ai/api/v1"));
    }

    @Test
    void unrelatedVariablesAreIgnored() {
        Config c = load("OPENAI_ORGANIZATION", "org", "OPENAI_API_KEYS", "x", "MY_OPENAI_API_KEY", "y", "OPENAIAPI_KEY", "z", "HOME", "/root");
        assertThat(c.providers()).isEmpty();
    }

    @Test
    void emptyKeyDoesNotRegisterAProvider() {
        assertThat(load("OPENAI_API_KEY", "").providers()).isEmpty();
        assertThat(load("OPENAI_API_KEY", "  ").providers()).isEmpty();
    }

    @Test
    void localServersNeedABaseUrl() {
        ConfigException e = failure("VLLM_API_KEY", "k");
        assertThat(e.getMessage()).contains("VLLM_BASE_URL");

        Config c = load("OLLAMA_BASE_URL", "http://localhost:11434/v1");
        ProviderConfig p = provider(c, "ollama");
        assertThat(p.type()).isEqualTo(ProviderType.OLLAMA);
        assertThat(p.apiKey()).isNull();
        assertThat(p.baseUrl()).isEqualTo(URI.create("http://localhost:11434/v1"));

        assertThat(failure("LMSTUDIO_GPU_API_KEY", "k").getMessage()).contains("LMSTUDIO_GPU_BASE_URL");
    }

    @Test
    void modelsListIsSplitAndTrimmed() {
        Config c = load("OPENAI_API_KEY", "k", "OPENAI_MODELS", " gpt-4o , gpt-4o-mini,,o3 ,", "GROQ_API_KEY", "g", "GROQ_MODELS", "llama-3.3-70b");
        assertThat(provider(c, "openai").models()).containsExactly("gpt-4o", "gpt-4o-mini", "o3");
        assertThat(provider(c, "groq").models()).containsExactly("llama-3.3-70b");
        Config suffixed = load("OPENAI_EAST_API_KEY", "k", "OPENAI_EAST_MODELS", "a,b");
        assertThat(provider(suffixed, "openai-east").models()).containsExactly("a", "b");
    }

    @Test
    void modelsWithoutKeyOrUrlIsAnError() {
        ConfigException e = failure("OPENAI_MODELS", "gpt-4o");
        assertThat(e.getMessage()).contains("OPENAI_MODELS").contains("OPENAI_API_KEY");
        ConfigException east = failure("OPENAI_EAST_MODELS", "gpt-4o", "OPENAI_API_KEY", "k");
        assertThat(east.getMessage()).contains("OPENAI_EAST_MODELS").contains("OPENAI_EAST_API_KEY");
    }

    // ---- YAML ---------------------------------------------------------------------------------

    private static final String YAML = """
            server:
              host: 10.0.0.1
              port: 9090
              io_threads: 2
              max_body_bytes: 1MB
              master_key: ${MASTER}
            timeouts:
              connect: 2s
              idle: 45s
            models_refresh: 10m
            usage_log: /tmp/usage.jsonl
            providers:
              openai:
                api_key: ${OPENAI_KEY_FROM_VAULT}
                models: [gpt-4o, gpt-4o-mini]
              local:
                type: vllm
                base_url: http://gpu-box:8000/v1
                models: "qwen, llama"
              groq-fast:
                api_key: prefix-${GROQ_SECRET}-suffix
            """;

    @Test
    void yamlFileWithVariableExpansion() throws IOException {
        yaml("skiff.yaml", YAML);
        Config c = load("SKIFF_CONFIG", "skiff.yaml", "MASTER", "mk", "OPENAI_KEY_FROM_VAULT", "sk-vault", "GROQ_SECRET", "gs");
        assertThat(c.host()).isEqualTo("10.0.0.1");
        assertThat(c.port()).isEqualTo(9090);
        assertThat(c.ioThreads()).isEqualTo(2);
        assertThat(c.maxBodyBytes()).isEqualTo(1 << 20);
        assertThat(c.masterKey()).isEqualTo("mk");
        assertThat(c.timeouts().connect()).isEqualTo(Duration.ofSeconds(2));
        assertThat(c.timeouts().idle()).isEqualTo(Duration.ofSeconds(45));
        assertThat(c.timeouts().firstByte()).isEqualTo(Timeouts.defaults().firstByte());
        assertThat(c.modelsRefresh()).isEqualTo(Duration.ofMinutes(10));
        assertThat(c.usageLog()).isEqualTo("/tmp/usage.jsonl");

        ProviderConfig openai = provider(c, "openai");
        assertThat(openai.apiKey()).isEqualTo("sk-vault");
        assertThat(openai.models()).containsExactly("gpt-4o", "gpt-4o-mini");
        assertThat(openai.baseUrl()).isEqualTo(URI.create("https://api.openai.com/v1"));

        ProviderConfig local = provider(c, "local");
        assertThat(local.type()).isEqualTo(ProviderType.VLLM);
        assertThat(local.apiKey()).isNull();
        assertThat(local.baseUrl()).isEqualTo(URI.create("http://gpu-box:8000/v1"));
        assertThat(local.models()).containsExactly("qwen", "llama");

        ProviderConfig groq = provider(c, "groq-fast");
        assertThat(groq.type()).as("type taken from the name's prefix").isEqualTo(ProviderType.GROQ);
        assertThat(groq.apiKey()).isEqualTo("prefix-gs-suffix");
    }

    @Test
    void configYamlInTheWorkingDirectoryIsReadWithoutSkiffConfig() throws IOException {
        yaml("config.yaml", "server:\n  port: 9191\n");
        assertThat(load().port()).isEqualTo(9191);
    }

    @Test
    void environmentWinsOverYaml() throws IOException {
        yaml("skiff.yaml", YAML);
        Config c = load("SKIFF_CONFIG", "skiff.yaml", "MASTER", "mk", "OPENAI_KEY_FROM_VAULT", "sk-vault", "GROQ_SECRET", "gs",
                "SKIFF_HOST", "127.0.0.1", "SKIFF_PORT", "9999", "SKIFF_CONNECT_TIMEOUT", "7s", "SKIFF_MASTER_KEY", "env-master",
                "OPENAI_API_KEY", "sk-env", "OPENAI_MODELS", "o3", "OPENAI_BASE_URL", "http://127.0.0.1:1234/v1");
        assertThat(c.host()).isEqualTo("127.0.0.1");
        assertThat(c.port()).isEqualTo(9999);
        assertThat(c.masterKey()).isEqualTo("env-master");
        assertThat(c.timeouts().connect()).isEqualTo(Duration.ofSeconds(7));
        assertThat(c.timeouts().idle()).isEqualTo(Duration.ofSeconds(45));
        ProviderConfig openai = provider(c, "openai");
        assertThat(openai.apiKey()).isEqualTo("sk-env");
        assertThat(openai.models()).containsExactly("o3");
        assertThat(openai.baseUrl()).isEqualTo(URI.create("http://127.0.0.1:1234/v1"));
        assertThat(c.providers()).extracting(ProviderConfig::name).containsExactly("openai", "local", "groq-fast");
    }

    @Test
    void unsetVariableInYamlIsNamed() throws IOException {
        yaml("skiff.yaml", "providers:\n  openai:\n    api_key: ${NOT_SET_ANYWHERE}\n");
        ConfigException e = failure("SKIFF_CONFIG", "skiff.yaml");
        assertThat(e.getMessage()).contains("providers.openai.api_key").contains("NOT_SET_ANYWHERE");
    }

    @Test
    void missingConfigFileIsNamed() {
        assertThat(failure("SKIFF_CONFIG", "nope.yaml").getMessage()).contains("SKIFF_CONFIG").contains("nope.yaml");
    }

    @Test
    void invalidYamlAndNonMappingTopLevel() throws IOException {
        yaml("bad.yaml", "server: [unclosed\n");
        assertThat(failure("SKIFF_CONFIG", "bad.yaml").getMessage()).contains("bad.yaml");
        yaml("list.yaml", "- a\n- b\n");
        assertThat(failure("SKIFF_CONFIG", "list.yaml").getMessage()).contains("list.yaml").contains("mapping");
        yaml("server.yaml", "server: 5\n");
        assertThat(failure("SKIFF_CONFIG", "server.yaml").getMessage()).startsWith("server");
    }

    // ---- invalid values name their setting ------------------------------------------------------

    @ParameterizedTest
    @CsvSource({
            "PORT, 70000, PORT",
            "PORT, -1, PORT",
            "PORT, http, PORT",
            "SKIFF_PORT, 65536, SKIFF_PORT",
            "SKIFF_IO_THREADS, 0, SKIFF_IO_THREADS",
            "SKIFF_MAX_BODY_BYTES, 10 parsecs, SKIFF_MAX_BODY_BYTES",
            "SKIFF_MAX_BODY_BYTES, 0, SKIFF_MAX_BODY_BYTES",
            "SKIFF_MAX_BODY_BYTES, 4GB, SKIFF_MAX_BODY_BYTES",
            "SKIFF_CONNECT_TIMEOUT, 5x, SKIFF_CONNECT_TIMEOUT",
            "SKIFF_FIRST_BYTE_TIMEOUT, -5s, SKIFF_FIRST_BYTE_TIMEOUT",
            "SKIFF_IDLE_TIMEOUT, 1.5s, SKIFF_IDLE_TIMEOUT",
            "SKIFF_TOTAL_TIMEOUT, 0s, SKIFF_TOTAL_TIMEOUT",
            "SKIFF_MODELS_REFRESH, soon, SKIFF_MODELS_REFRESH",
    })
    void badServerValueNamesTheSetting(String var, String value, String named) {
        ConfigException e = failure(var, value);
        String setting = e.getMessage().substring(0, e.getMessage().indexOf(": "));
        assertThat(setting).contains(named);
    }

    @ParameterizedTest
    @ValueSource(strings = {"ftp://example.com/v1", "example.com/v1", "http://", "http://exa mple.com", "https://example.com/v1?x=1",
            "https://example.com/v1#frag"})
    void badBaseUrlNamesTheSetting(String url) {
        ConfigException e = failure("OPENAI_API_KEY", "k", "OPENAI_BASE_URL", url);
        assertThat(e.getMessage()).startsWith("OPENAI_BASE_URL");
        ConfigException east = failure("OPENAI_EAST_API_KEY", "k", "OPENAI_EAST_BASE_URL", url);
        assertThat(east.getMessage()).startsWith("OPENAI_EAST_BASE_URL");
    }

    @Test
    void badYamlValuesNameTheirSetting() throws IOException {
        yaml("a.yaml", "server:\n  port: 123456\n");
        assertThat(failure("SKIFF_CONFIG", "a.yaml").getMessage()).contains("server.port");
        yaml("b.yaml", "timeouts:\n  idle: forever\n");
        assertThat(failure("SKIFF_CONFIG", "b.yaml").getMessage()).contains("timeouts.idle");
        yaml("c.yaml", "server:\n  max_body_bytes: lots\n");
        assertThat(failure("SKIFF_CONFIG", "c.yaml").getMessage()).contains("server.max_body_bytes");
        yaml("d.yaml", "server:\n  host: [a, b]\n");
        assertThat(failure("SKIFF_CONFIG", "d.yaml").getMessage()).contains("server.host");
    }

    @Test
    void unknownProviderTypeNamesTheSettingAndTheKnownTypes() throws IOException {
        yaml("a.yaml", "providers:\n  mine:\n    type: bogus\n    api_key: k\n");
        ConfigException e = failure("SKIFF_CONFIG", "a.yaml");
        assertThat(e.getMessage()).startsWith("providers.mine.type").contains("openai").contains("vllm");

        yaml("b.yaml", "providers:\n  acme:\n    api_key: k\n");
        assertThat(failure("SKIFF_CONFIG", "b.yaml").getMessage()).startsWith("providers.acme.type");

        yaml("c.yaml", "providers:\n  openai: just-a-string\n");
        assertThat(failure("SKIFF_CONFIG", "c.yaml").getMessage()).startsWith("providers.openai");
    }

    @Test
    void yamlModelsWithoutKeyNamesTheProvider() throws IOException {
        yaml("a.yaml", "providers:\n  openai:\n    models: [gpt-4o]\n");
        ConfigException e = failure("SKIFF_CONFIG", "a.yaml");
        assertThat(e.getMessage()).startsWith("providers.openai").contains("OPENAI_API_KEY");
    }

    @Test
    void envTypeConflictingWithYamlTypeIsAnError() throws IOException {
        yaml("a.yaml", "providers:\n  openai-east:\n    type: groq\n    api_key: k\n");
        ConfigException e = failure("SKIFF_CONFIG", "a.yaml", "OPENAI_EAST_API_KEY", "k2");
        assertThat(e.getMessage()).startsWith("OPENAI_EAST_API_KEY").contains("groq");
    }

    @Test
    void invalidProviderNameInYamlIsRejected() throws IOException {
        yaml("a.yaml", "providers:\n  My_Provider:\n    type: openai\n    api_key: k\n");
        assertThat(failure("SKIFF_CONFIG", "a.yaml").getMessage()).startsWith("providers.My_Provider");
    }

    /** A provider defined in the file has its base URL at providers.NAME.base_url; that is what the error must name. */
    @Test
    void badBaseUrlInYamlNamesTheYamlSetting() throws IOException {
        yaml("a.yaml", "providers:\n  local:\n    type: vllm\n    base_url: gpu-box:8000\n");
        ConfigException e = failure("SKIFF_CONFIG", "a.yaml");
        assertThat(e.getMessage()).startsWith("providers.local.base_url");
    }
}
