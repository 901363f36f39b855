package dev.skiff.routing;

import static org.assertj.core.api.Assertions.assertThat;

import dev.skiff.config.ProviderConfig;
import dev.skiff.config.ProviderType;
import dev.skiff.provider.Provider;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ModelCatalogTest {
    private final List<String> log = new ArrayList<>();

    private static Provider provider(String name) {
        return new Provider(new ProviderConfig(name, ProviderType.OPENAI, URI.create("https://api.example.com/v1"), "k", List.of(), null));
    }

    private static List<ModelCatalog.Model> models(String... ids) {
        return java.util.Arrays.stream(ids).map(id -> new ModelCatalog.Model(id, 0, null)).toList();
    }

    @Test
    void aFailingListingIsLoggedOncePerChangeOfState() {
        Provider openai = provider("openai");
        ModelCatalog catalog = new ModelCatalog(List.of(openai), log::add);

        catalog.failed(openai, "HTTP 401 Unauthorized: {\"error\":\"bad key, request req_1\"}", "HTTP 401 Unauthorized");
        catalog.failed(openai, "HTTP 401 Unauthorized: {\"error\":\"bad key, request req_2\"}", "HTTP 401 Unauthorized");
        assertThat(log).singleElement().asString().startsWith("model listing of openai failed: HTTP 401 Unauthorized").contains("req_1");

        catalog.failed(openai, "openai is unreachable: connection refused", "openai is unreachable: connection refused");
        assertThat(log).hasSize(2).last().asString().contains("unreachable");

        catalog.succeeded(openai, models("gpt-4o"));
        catalog.succeeded(openai, models("gpt-4o"));
        assertThat(log).hasSize(3).last().asString().isEqualTo("model listing of openai works again: 1 models");

        catalog.failed(openai, "HTTP 500 Internal Server Error", "HTTP 500 Internal Server Error");
        assertThat(log).hasSize(4).last().asString().contains("the models known for it (1) stay listed");
    }

    @Test
    void aFirstSuccessIsNotLogged() {
        Provider openai = provider("openai");
        ModelCatalog catalog = new ModelCatalog(List.of(openai), log::add);
        catalog.succeeded(openai, models("gpt-4o"));
        assertThat(log).isEmpty();
    }

    @Test
    void theNotServedNoteNamesFailedAndPendingListings() {
        Provider openai = provider("openai"), groq = provider("groq"), xai = provider("xai");
        ModelCatalog catalog = new ModelCatalog(List.of(openai, groq, xai), log::add);
        assertThat(catalog.snapshot().notServedNote()).isEqualTo(" The model listings of openai, groq, xai have not arrived yet.");

        catalog.failed(openai, "HTTP 401 Unauthorized: nope", "HTTP 401 Unauthorized");
        catalog.succeeded(groq, models("llama"));
        assertThat(catalog.snapshot().notServedNote()).isEqualTo(" The model listing of openai (HTTP 401 Unauthorized) failed, so it may be "
                + "served there. The model listing of xai has not arrived yet.");

        catalog.failed(xai, "xai is unreachable", "xai is unreachable");
        assertThat(catalog.snapshot().notServedNote()).isEqualTo(" The model listings of openai (HTTP 401 Unauthorized), xai (xai is "
                + "unreachable) failed, so it may be served by one of them.");
        catalog.succeeded(openai, models());
        catalog.succeeded(xai, models());
        assertThat(catalog.snapshot().notServedNote()).isEmpty();
    }

    @Test
    void firstListingsAreDoneWhenEveryProviderHasAnsweredOrFailed() {
        Provider openai = provider("openai"), groq = provider("groq");
        ModelCatalog catalog = new ModelCatalog(List.of(openai, groq), log::add);
        assertThat(catalog.firstListingsDone()).isFalse();
        catalog.failed(openai, "HTTP 401 Unauthorized", "HTTP 401 Unauthorized");
        assertThat(catalog.firstListingsDone()).isFalse();
        assertThat(catalog.pending()).containsExactly("groq");
        catalog.succeeded(groq, models("llama"));
        assertThat(catalog.firstListingsDone()).isTrue();
        assertThat(new ModelCatalog(List.of(), log::add).firstListingsDone()).as("nothing to wait for").isTrue();
    }

    @Test
    void credentialsInAListingErrorAreRedacted() {
        Provider openai = provider("openai");
        ModelCatalog catalog = new ModelCatalog(List.of(openai), log::add);
        catalog.failed(openai, "HTTP 502 Bad Gateway: cannot reach https://user:hunter2@internal.example/v1", "HTTP 502 Bad Gateway");
        assertThat(log).singleElement().asString().doesNotContain("hunter2").contains("https://***@internal.example/v1");
        assertThat(new String(catalog.snapshot().listingJson(), StandardCharsets.UTF_8)).doesNotContain("hunter2").contains("***@");
    }
}
