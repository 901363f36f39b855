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
        assertThat(c.host()).as("loopback unless asked: nothing is opened to the network by default").isEqualTo("127.0.0.1");
        assertThat(c.port()).isEqualTo(8080);
        assertThat(c.maxBodyBytes()).isEqualTo(10L << 20);
        assertThat(c.masterKey()).isNull();
        assertThat(c.timeouts()).isEqualTo(Timeouts.defaults());
        assertThat(c.modelsRefresh()).isEqualTo(Duration.ofMinutes(5));
        assertThat(c.usageLog()).isEqualTo("stdout");
        assertThat(c.providers()).isEmpty();
        assertThat(c.ioThreads()).isPositive();
        assertThat(c.allowOpen()).isFalse();
        assertThat(c.readyTimeout()).isEqualTo(Duration.ofSeconds(10));
        assertThat(c.warnings()).isEmpty();
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
    void responsesTtlIsThirtyDaysUnlessSetAndTakesDays() {
        assertThat(load().responsesTtl()).isEqualTo(Duration.ofDays(30));
        assertThat(load("SKIFF_RESPONSES_TTL", "7d").responsesTtl()).isEqualTo(Duration.ofDays(7));
        assertThat(load("SKIFF_RESPONSES_TTL", "12h").responsesTtl()).isEqualTo(Duration.ofHours(12));
        assertThat(failure("SKIFF_RESPONSES_TTL", "a week").getMessage())
                .startsWith("SKIFF_RESPONSES_TTL / responses_ttl: 'a week' is not a duration").contains("30d");
    }

    @Test
    void theDatabasePathIsCheckedAtStartUpWithoutCreatingAnything() throws IOException {
        assertThat(load().database()).isEqualTo("data/skiff.db");
        assertThat(Files.exists(dir.resolve("data"))).as("nothing is created before the first stored response").isFalse();
        assertThat(load("SKIFF_DB", ":memory:").database()).isEqualTo(":memory:");
        assertThat(load("SKIFF_DB", "deep/er/skiff.db").database()).isEqualTo("deep/er/skiff.db");

        Files.createDirectories(dir.resolve("folder"));
        assertThat(failure("SKIFF_DB", "folder").getMessage()).startsWith("SKIFF_DB / database: 'folder' is a folder");
        Files.writeString(dir.resolve("notes.txt"), "not a database");
        assertThat(failure("SKIFF_DB", "notes.txt").getMessage())
                .isEqualTo("SKIFF_DB / database: 'notes.txt' exists and is not an SQLite database");
        assertThat(failure("SKIFF_DB", "notes.txt/skiff.db").getMessage())
                .startsWith("SKIFF_DB / database: cannot create the folder of 'notes.txt/skiff.db': ").endsWith("is a file, not a folder");
        assertThat(failure("SKIFF_DB", " ").getMessage()).startsWith("SKIFF_DB / database: is empty");
        Files.createFile(dir.resolve("empty.db"));
        assertThat(load("SKIFF_DB", "empty.db").database()).as("an empty file becomes a database").isEqualTo("empty.db");
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

    // ---- key pools -------------------------------------------------------------------------

    @Test
    void numberedKeysJoinTheProvidersPoolInOrder() {
        Config c = load("OPENAI_API_KEY", "sk-1", "OPENAI_API_KEY_3", "sk-3", "OPENAI_API_KEY_2", "sk-2", "OPENAI_API_KEY_4", "",
                "OPENAI_EAST_API_KEY", "e-1", "OPENAI_EAST_API_KEY_2", "e-2", "ANTHROPIC_API_KEY_2", "a-2");
        ProviderConfig openai = provider(c, "openai");
        assertThat(openai.apiKeys()).containsExactly("sk-1", "sk-2", "sk-3");
        assertThat(openai.apiKey()).isEqualTo("sk-1");
        assertThat(openai.keyCooldown()).isEqualTo(Duration.ofSeconds(60));
        assertThat(provider(c, "openai-east").apiKeys()).containsExactly("e-1", "e-2");
        assertThat(provider(c, "anthropic").apiKeys()).as("numbered keys alone register the provider").containsExactly("a-2");
        assertThat(c.warnings()).as("OPENAI_API_KEY_2 is a setting, not a near miss").noneMatch(w -> w.contains("API_KEY_"));
        assertThat(c.providers().toString()).doesNotContain("sk-").doesNotContain("e-1");
    }

    @Test
    void yamlApiKeysJoinTheKeyAndTheEnvironmentAndDuplicatesCountOnce() throws IOException {
        yaml("skiff.yaml", """
                key_cooldown: 20s
                providers:
                  openai:
                    api_key: ${K1}
                    api_keys: ["${K2}", "${K3:-}", "${K1}"]
                  anthropic:
                    api_keys: [a-1, a-2]
                    key_cooldown: 5s
                """);
        Config c = load("SKIFF_CONFIG", "skiff.yaml", "K1", "sk-1", "K2", "sk-2", "OPENAI_API_KEY_2", "sk-env-2");
        ProviderConfig openai = provider(c, "openai");
        assertThat(openai.apiKeys()).containsExactly("sk-1", "sk-2", "sk-env-2");
        assertThat(openai.keyCooldown()).isEqualTo(Duration.ofSeconds(20));
        ProviderConfig anthropic = provider(c, "anthropic");
        assertThat(anthropic.apiKeys()).containsExactly("a-1", "a-2");
        assertThat(anthropic.apiKey()).isEqualTo("a-1");
        assertThat(anthropic.keyCooldown()).isEqualTo(Duration.ofSeconds(5));
        assertThat(load("SKIFF_KEY_COOLDOWN", "2m", "OPENAI_API_KEY", "x").providers().getFirst().keyCooldown())
                .isEqualTo(Duration.ofMinutes(2));
    }

    @Test
    void apiKeysMustBeAListAndAPoolOfEmptyKeysLeavesTheProviderOut() throws IOException {
        yaml("scalar.yaml", "providers:\n  openai:\n    api_keys: sk-1\n");
        assertThat(failure("SKIFF_CONFIG", "scalar.yaml").getMessage()).contains("providers.openai.api_keys", "list");
        yaml("empty.yaml", "providers:\n  openai:\n    api_keys: [\"${A:-}\", \"${B:-}\"]\n");
        Config c = load("SKIFF_CONFIG", "empty.yaml");
        assertThat(c.providers()).isEmpty();
        assertThat(c.warnings()).anyMatch(w -> w.contains("provider openai is not configured"));
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

    // ---- open serving ---------------------------------------------------------------------------

    @Test
    void emptyMasterKeyNeverStarts() throws IOException {
        ConfigException e = failure("SKIFF_MASTER_KEY", "");
        assertThat(e.getMessage()).startsWith("SKIFF_MASTER_KEY").contains("empty");
        assertThat(failure("SKIFF_MASTER_KEY", " ", "SKIFF_ALLOW_OPEN", "true").getMessage()).startsWith("SKIFF_MASTER_KEY");
        yaml("a.yaml", "server:\n  master_key: ''\n");
        assertThat(failure("SKIFF_CONFIG", "a.yaml").getMessage()).startsWith("server.master_key").contains("empty");
        yaml("b.yaml", "server:\n  master_key: ${MK:-}\n");
        assertThat(failure("SKIFF_CONFIG", "b.yaml").getMessage()).startsWith("server.master_key");
    }

    @ParameterizedTest
    @ValueSource(strings = {"0.0.0.0", "::", "10.1.2.3", "gateway.internal"})
    void noKeyOnANetworkAddressNeedsTheExplicitOptIn(String host) throws IOException {
        ConfigException e = failure("SKIFF_HOST", host);
        assertThat(e.getMessage()).startsWith("SKIFF_MASTER_KEY").contains(host).contains("SKIFF_ALLOW_OPEN=true");
        assertThat(load("SKIFF_HOST", host, "SKIFF_ALLOW_OPEN", "true").allowOpen()).isTrue();
        assertThat(load("SKIFF_HOST", host, "SKIFF_MASTER_KEY", "k").masterKey()).isEqualTo("k");
        yaml("open.yaml", "server:\n  host: '" + host + "'\n  allow_open: true\n");
        assertThat(load("SKIFF_CONFIG", "open.yaml").allowOpen()).isTrue();
        assertThat(failure("SKIFF_HOST", host, "SKIFF_ALLOW_OPEN", "maybe").getMessage()).startsWith("SKIFF_ALLOW_OPEN");
    }

    @ParameterizedTest
    @ValueSource(strings = {"127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"})
    void noKeyOnLoopbackServesOpenly(String host) {
        Config c = load("SKIFF_HOST", host);
        assertThat(c.masterKey()).isNull();
        assertThat(c.allowOpen()).isFalse();
    }

    @Test
    void readyTimeoutFromEnvironmentOrYaml() throws IOException {
        assertThat(load("SKIFF_READY_TIMEOUT", "2500ms").readyTimeout()).isEqualTo(Duration.ofMillis(2500));
        yaml("a.yaml", "server:\n  ready_timeout: 1m\n");
        assertThat(load("SKIFF_CONFIG", "a.yaml").readyTimeout()).isEqualTo(Duration.ofMinutes(1));
        assertThat(failure("SKIFF_READY_TIMEOUT", "never").getMessage()).startsWith("SKIFF_READY_TIMEOUT");
    }

    @Test
    void connectionSettingsFromEnvironmentOrYaml() throws IOException {
        Config defaults = load();
        assertThat(defaults.headerTimeout()).isEqualTo(Duration.ofSeconds(10));
        assertThat(defaults.keepAliveTimeout()).isEqualTo(Duration.ofSeconds(75));
        assertThat(defaults.drainTimeout()).isEqualTo(Duration.ofSeconds(30));
        assertThat(defaults.maxConnections()).isEqualTo(ConfigLoader.defaultMaxConnections(ConfigLoader.openFileLimit()));
        Config set = load("SKIFF_HEADER_TIMEOUT", "2s", "SKIFF_KEEPALIVE_TIMEOUT", "5m", "SKIFF_DRAIN_TIMEOUT", "1s",
                "SKIFF_MAX_CONNECTIONS", "500");
        assertThat(set.headerTimeout()).isEqualTo(Duration.ofSeconds(2));
        assertThat(set.keepAliveTimeout()).isEqualTo(Duration.ofMinutes(5));
        assertThat(set.drainTimeout()).isEqualTo(Duration.ofSeconds(1));
        assertThat(set.maxConnections()).isEqualTo(500);
        yaml("a.yaml", "server:\n  header_timeout: 3s\n  keepalive_timeout: 10s\n  max_connections: 42\n  drain_timeout: 1m\n");
        Config file = load("SKIFF_CONFIG", "a.yaml");
        assertThat(file.headerTimeout()).isEqualTo(Duration.ofSeconds(3));
        assertThat(file.keepAliveTimeout()).isEqualTo(Duration.ofSeconds(10));
        assertThat(file.maxConnections()).isEqualTo(42);
        assertThat(file.drainTimeout()).isEqualTo(Duration.ofMinutes(1));
        assertThat(failure("SKIFF_HEADER_TIMEOUT", "0s").getMessage()).startsWith("SKIFF_HEADER_TIMEOUT");
        assertThat(failure("SKIFF_MAX_CONNECTIONS", "0").getMessage()).startsWith("SKIFF_MAX_CONNECTIONS");
        assertThat(set.warnings()).noneMatch(w -> w.contains("SKIFF_MAX_CONNECTIONS"));
        // More than the descriptors allow is served as asked, with a warning at start-up.
        long files = ConfigLoader.openFileLimit();
        if (files > 0 && files < 1_000_000_000L) {
            Config over = load("SKIFF_MAX_CONNECTIONS", String.valueOf(Math.min(Integer.MAX_VALUE, files * 2)));
            assertThat(over.warnings()).anyMatch(w -> w.startsWith("SKIFF_MAX_CONNECTIONS") && w.contains("open-file limit"));
        }
    }

    @Test
    void theOpenFileLimitIsReadFromProcSelfLimits(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        Path limits = dir.resolve("limits");
        Files.writeString(limits, "Limit                     Soft Limit           Hard Limit           Units     \n"
                + "Max processes             95751                95751                processes \n"
                + "Max open files            4096                 524288               files     \n");
        assertThat(ConfigLoader.openFileLimit(limits)).isEqualTo(4096);
        Files.writeString(limits, "Max open files            unlimited            unlimited            files     \n");
        assertThat(ConfigLoader.openFileLimit(limits)).isEqualTo(Long.MAX_VALUE);
        assertThat(ConfigLoader.defaultMaxConnections(Long.MAX_VALUE)).isEqualTo(10_000);
        assertThat(ConfigLoader.openFileLimit(dir.resolve("absent"))).isEqualTo(-1);
        // on this machine, the same number the platform gives
        if (java.lang.management.ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.UnixOperatingSystemMXBean unix
                && Files.isReadable(Path.of("/proc/self/limits"))) {
            assertThat(ConfigLoader.openFileLimit()).isEqualTo(unix.getMaxFileDescriptorCount());
        }
    }

    @Test
    void theDefaultConnectionCapLeavesFileDescriptorsSpare() {
        assertThat(ConfigLoader.defaultMaxConnections(1_048_576)).isEqualTo(10_000);
        assertThat(ConfigLoader.defaultMaxConnections(1024)).isEqualTo(448); // two descriptors a client, 128 spare
        assertThat(ConfigLoader.defaultMaxConnections(100)).isEqualTo(16);
        assertThat(ConfigLoader.defaultMaxConnections(-1)).isEqualTo(10_000);
    }

    // ---- names that are not settings ------------------------------------------------------------

    @Test
    void unknownYamlKeysAreRefusedWithTheLikelyName() throws IOException {
        yaml("a.yaml", "server:\n  masterkey: k\n");
        assertThat(failure("SKIFF_CONFIG", "a.yaml").getMessage()).startsWith("server.masterkey").contains("did you mean server.master_key?");
        yaml("b.yaml", "provider:\n  openai:\n    api_key: k\n");
        assertThat(failure("SKIFF_CONFIG", "b.yaml").getMessage()).startsWith("provider").contains("did you mean providers?");
        yaml("c.yaml", "providers:\n  openai:\n    apikey: k\n");
        assertThat(failure("SKIFF_CONFIG", "c.yaml").getMessage()).startsWith("providers.openai.apikey")
                .contains("did you mean providers.openai.api_key?");
        yaml("d.yaml", "timeouts:\n  firstbyte: 5s\n");
        assertThat(failure("SKIFF_CONFIG", "d.yaml").getMessage()).contains("timeouts.first_byte");
        yaml("e.yaml", "colour: blue\n");
        assertThat(failure("SKIFF_CONFIG", "e.yaml").getMessage()).startsWith("colour").contains("server").contains("providers");
    }

    @ParameterizedTest
    @CsvSource({
            "OPENAI_KEY, OPENAI_API_KEY",
            "OPENAI_APIKEY, OPENAI_API_KEY",
            "OPENAIAPI_KEY, OPENAI_API_KEY",
            "OPENAI_API_KEYS, OPENAI_API_KEY",
            "OPENAI_API_BASE, OPENAI_BASE_URL",
            "ANTHROPIC_BASEURL, ANTHROPIC_BASE_URL",
            "GROQ_MODEL, GROQ_MODELS",
            "OPENAI_EAST_KEY, OPENAI_EAST_API_KEY",
            "SKIFF_MASTERKEY, SKIFF_MASTER_KEY",
            "SKIFF_MASTER_KYE, SKIFF_MASTER_KEY",
            "SKIFF_IOTHREADS, SKIFF_IO_THREADS",
            "BEDROCK_REGIONS, BEDROCK_REGION",
    })
    void nearMissEnvironmentNamesAreWarnedAbout(String var, String meant) {
        Config c = load(var, "x");
        assertThat(c.warnings()).singleElement(org.assertj.core.api.InstanceOfAssertFactories.STRING)
                .startsWith(var + " is not a Skiff setting").contains("did you mean " + meant + "?");
    }

    @Test
    void settingsAndOtherProgramsVariablesAreNotWarnedAbout() throws IOException {
        assertThat(load("OPENAI_API_KEY", "k", "OPENAI_EAST_API_KEY", "k", "OPENAI_ORGANIZATION", "o", "OPENAI_PROJECT_ID", "p",
                "ANTHROPIC_AUTH_TOKEN", "t", "ANTHROPIC_SMALL_FAST_MODEL", "m", "BEDROCK_REGION", "eu-west-1", "AWS_REGION", "us-east-1",
                "SKIFF_HEAP", "64m", "SKIFF_AOT", "off", "HOME", "/root", "PATH", "/bin").warnings()).isEmpty();
        // A variable the file refers to is set on purpose, whatever it looks like.
        yaml("a.yaml", "providers:\n  openai-east:\n    api_key: ${OPENAI_EAST_KEY}\n");
        assertThat(load("SKIFF_CONFIG", "a.yaml", "OPENAI_EAST_KEY", "k").warnings()).isEmpty();
        // The near miss is not reported when its intended name is set too.
        assertThat(load("OPENAI_KEY", "x", "OPENAI_API_KEY", "k").warnings()).isEmpty();
    }

    @Test
    void unknownSkiffVariableIsWarnedAboutEvenWithoutALikelyName() {
        assertThat(load("SKIFF_FROBNICATE", "1").warnings()).containsExactly("SKIFF_FROBNICATE is not a Skiff setting and is ignored");
    }

    @Test
    void googleApiKeyIsGeminisKeyWhenGeminiApiKeyIsAbsent() {
        ProviderConfig p = provider(load("GOOGLE_API_KEY", "g-key"), "gemini");
        assertThat(p.type()).isEqualTo(ProviderType.GEMINI);
        assertThat(p.apiKey()).isEqualTo("g-key");
        assertThat(provider(load("GOOGLE_API_KEY", "g-key", "GEMINI_API_KEY", ""), "gemini").apiKey()).isEqualTo("g-key");

        Config both = load("GOOGLE_API_KEY", "g-key", "GEMINI_API_KEY", "gem-key");
        assertThat(provider(both, "gemini").apiKey()).isEqualTo("gem-key");
        assertThat(both.warnings()).singleElement(org.assertj.core.api.InstanceOfAssertFactories.STRING)
                .contains("GOOGLE_API_KEY").contains("GEMINI_API_KEY, which wins");
        assertThat(load("GOOGLE_API_KEY", "same", "GEMINI_API_KEY", "same").warnings()).isEmpty();
    }

    // ---- ${VAR:-default} and providers whose key did not arrive -----------------------------------

    @Test
    void variableDefaultsApplyWhenUnsetOrEmpty() throws IOException {
        yaml("a.yaml", "server:\n  port: ${P:-9123}\nproviders:\n  ollama:\n    base_url: ${OLLAMA_URL:-http://localhost:11434/v1}\n");
        Config unset = load("SKIFF_CONFIG", "a.yaml");
        assertThat(unset.port()).isEqualTo(9123);
        assertThat(provider(unset, "ollama").baseUrl()).isEqualTo(URI.create("http://localhost:11434/v1"));
        assertThat(load("SKIFF_CONFIG", "a.yaml", "P", "").port()).isEqualTo(9123);
        Config set = load("SKIFF_CONFIG", "a.yaml", "P", "9200", "OLLAMA_URL", "http://gpu:11434/v1");
        assertThat(set.port()).isEqualTo(9200);
        assertThat(provider(set, "ollama").baseUrl()).isEqualTo(URI.create("http://gpu:11434/v1"));
    }

    @Test
    void listedProviderWhoseKeyComesOutEmptyIsNotConfigured() throws IOException {
        yaml("a.yaml", """
                providers:
                  openai:
                    api_key: ${OPENAI_API_KEY:-}
                  anthropic:
                    api_key: ${ANTHROPIC_API_KEY:-}
                    models: [claude-sonnet-4-5]
                  openai-east:
                    api_key: ${EAST:-}
                    base_url: https://east.example.com/v1
                  local:
                    type: vllm
                    api_key: ${VLLM_KEY:-}
                    base_url: http://gpu:8000/v1
                """);
        Config c = load("SKIFF_CONFIG", "a.yaml", "OPENAI_API_KEY", "sk");
        assertThat(c.providers()).extracting(ProviderConfig::name).containsExactly("openai", "local");
        assertThat(provider(c, "local").apiKey()).as("a local server's key is optional").isNull();
        assertThat(c.warnings()).anySatisfy(w -> assertThat(w).contains("anthropic").contains("providers.anthropic.api_key is empty"))
                .anySatisfy(w -> assertThat(w).contains("openai-east"));
        // The environment still wins over the file.
        assertThat(load("SKIFF_CONFIG", "a.yaml", "ANTHROPIC_API_KEY", "ak").providers()).extracting(ProviderConfig::name)
                .contains("anthropic");
    }

    /** The README's own example must start as it is, on a machine with only an OpenAI key. */
    @Test
    void readmeExampleStartsWithOnlyAnOpenAiKey() throws IOException {
        String readme = Files.readString(Path.of("README.md"));
        int start = readme.indexOf("```yaml\n# config.yaml\n");
        assertThat(start).as("README.md has the config.yaml example").isNotNegative();
        int from = readme.indexOf('\n', start) + 1;
        yaml("config.yaml", readme.substring(from, readme.indexOf("```", from)));

        Config c = load("OPENAI_API_KEY", "sk-only");
        assertThat(provider(c, "openai").apiKey()).isEqualTo("sk-only");
        assertThat(c.providers()).extracting(ProviderConfig::name).doesNotContain("openai-east");
        assertThat(c.masterKey()).isNull();
        assertThat(c.host()).isEqualTo("127.0.0.1");
    }

    @Test
    void credentialsInABadBaseUrlAreNotQuoted() {
        ConfigException e = failure("OPENAI_API_KEY", "k", "OPENAI_BASE_URL", "ftp://user:hunter2@example.com/v1");
        assertThat(e.getMessage()).doesNotContain("hunter2").contains("ftp://***@example.com/v1");
    }

    // ---- control plane ------------------------------------------------------------------------

    @Test
    void controlDefaultsNeedNothing() {
        ControlConfig c = load().control();
        assertThat(c.usageStore()).isTrue();
        assertThat(load("SKIFF_USAGE_STORE", "off").control().usageStore()).isFalse();
        assertThat(c.databaseUrl()).as("embedded SQLite unless a PostgreSQL URL is given").isNull();
        assertThat(c.redisUrl()).isNull();
        assertThat(c.redisPrefix()).isEqualTo("skiff:");
        assertThat(c.failOpen()).isTrue();
        assertThat(c.endUserHeader()).isEqualTo("X-End-User");
        assertThat(c.usageRetention()).as("usage rows kept 90 days").isEqualTo(java.time.Duration.ofDays(90));
    }

    @Test
    void usageRetentionIsADurationOrOff() throws IOException {
        assertThat(load("SKIFF_USAGE_RETENTION", "7d").control().usageRetention()).isEqualTo(java.time.Duration.ofDays(7));
        assertThat(load("SKIFF_USAGE_RETENTION", "off").control().usageRetention()).as("kept forever").isZero();
        assertThat(load("SKIFF_USAGE_RETENTION", "0").control().usageRetention()).as("kept forever").isZero();
        yaml("skiff.yaml", "control:\n  usage_retention: 400d\n");
        assertThat(load("SKIFF_CONFIG", dir.resolve("skiff.yaml").toString()).control().usageRetention()).isEqualTo(java.time.Duration.ofDays(400));
        assertThat(failure("SKIFF_USAGE_RETENTION", "a while").getMessage()).contains("SKIFF_USAGE_RETENTION").contains("not a duration");
    }

    @Test
    void controlSettingsFromEnvironmentAndYaml() throws IOException {
        ControlConfig env = load("SKIFF_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test", "SKIFF_REDIS_URL", "redis://127.0.0.1:6379/2",
                "SKIFF_LIMITS_FAILURE", "Closed", "SKIFF_END_USER_HEADER", "X-Customer").control();
        assertThat(env.databaseUrl()).isEqualTo("postgres://postgres@127.0.0.1:5432/test");
        assertThat(env.redisUrl()).isEqualTo("redis://127.0.0.1:6379/2");
        assertThat(env.failOpen()).isFalse();
        assertThat(env.endUserHeader()).isEqualTo("X-Customer");
        yaml("skiff.yaml", "control:\n  redis_prefix: \"tenant-a:\"\n  limits_failure: open\n");
        assertThat(load("SKIFF_CONFIG", dir.resolve("skiff.yaml").toString()).control().redisPrefix()).isEqualTo("tenant-a:");
    }

    @Test
    void controlSettingsThatCannotWorkAreRefusedAtStart() throws IOException {
        assertThat(failure("SKIFF_DATABASE_URL", "mysql://root:pw@db/skiff").getMessage())
                .contains("SKIFF_DATABASE_URL").contains("not a PostgreSQL URL").doesNotContain("pw");
        assertThat(failure("SKIFF_REDIS_URL", "127.0.0.1:6379").getMessage()).contains("redis://");
        assertThat(failure("SKIFF_LIMITS_FAILURE", "maybe").getMessage()).contains("open or closed");
        assertThat(failure("SKIFF_END_USER_HEADER", "X End User").getMessage()).contains("not a header name");
        assertThat(failure("SKIFF_PRICING_FILE", "missing.yaml").getMessage()).contains("not a readable file");
        assertThat(failure("SKIFF_USAGE_STORE", "maybe").getMessage()).contains("SKIFF_USAGE_STORE").contains("on or off");
        yaml("skiff.yaml", "control:\n  redis_url_typo: x\n");
        assertThat(failure("SKIFF_CONFIG", dir.resolve("skiff.yaml").toString()).getMessage()).contains("control.redis_url_typo");
    }
}
