package dev.skiff.config;

import static org.assertj.core.api.Assertions.assertThat;

import dev.skiff.provider.Provider;
import java.net.URI;
import java.util.List;
import org.junit.jupiter.api.Test;

class RedactTest {
    @Test
    void credentialsInUrlsAreReplaced() {
        assertThat(Redact.url(URI.create("https://user:pass@host.example/v1"))).isEqualTo("https://***@host.example/v1");
        assertThat(Redact.url(URI.create("https://token@host.example:8443"))).isEqualTo("https://***@host.example:8443");
        assertThat(Redact.url("see http://a:b@one/x and https://c@two?q=d@e")).isEqualTo("see http://***@one/x and https://***@two?q=d@e");
    }

    @Test
    void urlsWithoutCredentialsAreLeftAlone() {
        assertThat(Redact.url(URI.create("https://api.openai.com/v1"))).isEqualTo("https://api.openai.com/v1");
        assertThat(Redact.url("https://host/v1/models/a@b")).isEqualTo("https://host/v1/models/a@b");
        assertThat(Redact.url("mail me@example.com")).isEqualTo("mail me@example.com");
        assertThat(Redact.url((String) null)).isNull();
    }

    @Test
    void providersPrintNoCredentials() {
        ProviderConfig config = new ProviderConfig("local", ProviderType.VLLM, URI.create("http://admin:hunter2@gpu:8000/v1"), null, List.of(), null);
        assertThat(config.toString()).doesNotContain("hunter2").contains("http://***@gpu:8000/v1");
        assertThat(new Provider(config).toString()).doesNotContain("hunter2").contains("http://***@gpu:8000/v1");
    }
}
