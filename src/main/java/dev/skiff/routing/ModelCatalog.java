package dev.skiff.routing;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import dev.skiff.config.Redact;
import dev.skiff.dialect.Json;
import dev.skiff.provider.Provider;
import dev.skiff.upstream.ExchangeListener;
import dev.skiff.upstream.UpstreamClient;
import dev.skiff.upstream.UpstreamFailure;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufInputStream;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * The models every provider serves, fetched from their listings in the background and refreshed
 * periodically. Readers take an immutable snapshot, so the request path never waits for a provider:
 * a slow or failing listing leaves that provider's last good models (or its configured list) in
 * place and is reported in the listing as such.
 */
public final class ModelCatalog {
    /** A model as a provider lists it. */
    public record Model(String id, long created, String ownedBy) {}

    /**
     * What is known of one provider's listing. {@code reason} is the short form of {@code error}
     * ({@code HTTP 401 Unauthorized}, without the provider's body): what a failure is told apart by.
     */
    public record Listing(String status, List<Model> models, String error, String reason) {
        static final String PENDING = "pending", OK = "ok", ERROR = "error";
    }

    /**
     * Everything readers need, rebuilt whole on every change. {@code notServedNote} ends the 404 for
     * a model no listing names: which listings failed or are not in yet, since the model may be there.
     */
    public record Snapshot(Map<String, Listing> listings, Map<String, List<Provider>> providersByModel, byte[] listingJson,
                           String notServedNote) {
        /** One model by its qualified id ({@code provider/model}), as the listing shows it; null if unknown. */
        public byte[] modelJson(String qualifiedId) {
            int slash = qualifiedId.indexOf('/');
            if (slash <= 0) return null;
            String providerName = qualifiedId.substring(0, slash);
            Listing listing = listings.get(providerName);
            if (listing == null) return null;
            String id = qualifiedId.substring(slash + 1);
            for (Model m : listing.models()) {
                if (m.id().equals(id)) return renderModel(providerName, m);
            }
            return null;
        }
    }

    private static final long MAX_LISTING_BYTES = 16 << 20;

    private final List<Provider> providers;
    private final AtomicReference<Snapshot> snapshot = new AtomicReference<>();
    private final Map<String, Listing> listings = new LinkedHashMap<>(); // guarded by this
    private final Consumer<String> log;
    /** Set once every provider's first listing attempt has ended, well or not; before the snapshot saying so. */
    private volatile boolean firstListingsDone;

    public ModelCatalog(List<Provider> providers) {
        this(providers, line -> System.err.println("skiff: " + line));
    }

    /** @param log where changes of a listing's state are reported, one line each */
    public ModelCatalog(List<Provider> providers, Consumer<String> log) {
        this.providers = List.copyOf(providers);
        this.log = log;
        for (Provider p : providers) {
            listings.put(p.name(), new Listing(Listing.PENDING, configured(p), null, null));
        }
        firstListingsDone = providers.isEmpty();
        rebuild();
    }

    /** Whether every provider's first listing has succeeded or failed (none is still pending). */
    public boolean firstListingsDone() {
        return firstListingsDone;
    }

    /** The providers whose first listing has not ended yet. */
    public synchronized List<String> pending() {
        return listings.entrySet().stream().filter(e -> e.getValue().status().equals(Listing.PENDING)).map(Map.Entry::getKey).toList();
    }

    public Snapshot snapshot() {
        return snapshot.get();
    }

    public List<Provider> providers() {
        return providers;
    }

    /** Fetches every listing now and then every {@code every}. */
    public void start(UpstreamClient client, EventLoopGroup group, Duration every) {
        group.next().scheduleAtFixedRate(() -> refreshAll(client, group), 0, every.toMillis(), TimeUnit.MILLISECONDS);
    }

    public void refreshAll(UpstreamClient client, EventLoopGroup group) {
        for (Provider p : providers) {
            var loop = group.next();
            loop.execute(() -> fetch(client, p, loop));
        }
    }

    private void fetch(UpstreamClient client, Provider p, io.netty.channel.EventLoop loop) {
        if (p.modelsPath() == null) { // nothing to fetch: the declared models are the listing
            succeeded(p, List.of());
            return;
        }
        HttpRequest head = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, p.modelsPath());
        p.applyHeaders(head.headers());
        head.headers().set(HttpHeaderNames.ACCEPT, "application/json").set(HttpHeaderNames.CONTENT_LENGTH, 0);
        client.send(p, loop, head, Unpooled.EMPTY_BUFFER, new ExchangeListener() {
            private int status;
            private final CompositeByteBuf body = ByteBufAllocator.DEFAULT.compositeBuffer();

            @Override
            public void onHead(HttpResponse response) {
                status = response.status().code();
            }

            @Override
            public void onContent(ByteBuf content) {
                if (body.readableBytes() + content.readableBytes() > MAX_LISTING_BYTES) {
                    content.release();
                    return;
                }
                body.addComponent(true, content);
            }

            @Override
            public void onEnd() {
                try {
                    if (status / 100 != 2) {
                        String text = body.toString(StandardCharsets.UTF_8);
                        String reason = "HTTP " + HttpResponseStatus.valueOf(status);
                        String logged = reason + (text.isBlank() ? "" : ": " + abbreviate(text));
                        // /v1/models shows the provider's JSON error; an HTML or text page (a proxy's,
                        // a load balancer's) may describe the network behind it, so only the log has it.
                        failed(p, looksLikeJson(text) ? logged : reason, reason, logged);
                    } else {
                        succeeded(p, parse(body));
                    }
                } catch (IOException | RuntimeException e) {
                    failed(p, "unreadable model listing: " + e.getMessage(), "unreadable model listing");
                } finally {
                    body.release();
                }
            }

            @Override
            public void onFailure(UpstreamFailure failure) {
                body.release();
                failed(p, failure.message(), failure.message(), failure.detail());
            }
        });
    }

    synchronized void succeeded(Provider p, List<Model> listed) {
        Map<String, Model> merged = new LinkedHashMap<>();
        for (Model m : listed) merged.put(m.id(), m);
        for (Model m : configured(p)) merged.putIfAbsent(m.id(), m);
        Listing before = listings.put(p.name(), new Listing(Listing.OK, List.copyOf(merged.values()), null, null));
        if (before.status().equals(Listing.ERROR)) log.accept("model listing of " + p.name() + " works again: " + merged.size() + " models");
        rebuild();
    }

    /** A failed listing keeps the provider's last models; it is logged when it starts failing or fails differently, not at every refresh. */
    synchronized void failed(Provider p, String error, String reason) {
        failed(p, error, reason, error);
    }

    /** {@code error} is shown in {@code /v1/models}, {@code logged} is what the log says of it. */
    synchronized void failed(Provider p, String error, String reason, String logged) {
        error = Redact.url(error);
        reason = Redact.url(reason);
        logged = Redact.url(logged);
        Listing before = listings.put(p.name(), new Listing(Listing.ERROR, listings.get(p.name()).models(), error, reason));
        if (!before.status().equals(Listing.ERROR) || !reason.equals(before.reason())) {
            log.accept("model listing of " + p.name() + " failed: " + logged + (before.models().isEmpty()
                    ? "; only provider/model names reach it until a listing succeeds (" + p.name() + "/<model>)"
                    : "; the models known for it (" + before.models().size() + ") stay listed"));
        }
        rebuild();
    }

    private synchronized void rebuild() {
        Map<String, List<Provider>> byModel = new HashMap<>();
        Map<String, Provider> byName = new HashMap<>();
        for (Provider p : providers) byName.put(p.name(), p);
        for (Map.Entry<String, Listing> e : listings.entrySet()) {
            Provider p = byName.get(e.getKey());
            for (Model m : e.getValue().models()) {
                byModel.computeIfAbsent(m.id(), k -> new ArrayList<>(1)).add(p);
            }
        }
        byModel.replaceAll((k, v) -> List.copyOf(v));
        Map<String, Listing> frozen = Map.copyOf(listings);
        if (!firstListingsDone && listings.values().stream().noneMatch(l -> l.status().equals(Listing.PENDING))) firstListingsDone = true;
        snapshot.set(new Snapshot(frozen, Map.copyOf(byModel), render(listings), notServedNote(listings)));
    }

    /** E.g. " The model listing of openai (HTTP 401 Unauthorized) failed, so it may be served there." */
    private static String notServedNote(Map<String, Listing> listings) {
        List<String> failed = new ArrayList<>(), pending = new ArrayList<>();
        for (Map.Entry<String, Listing> e : listings.entrySet()) {
            switch (e.getValue().status()) {
                case Listing.ERROR -> failed.add(e.getKey() + " (" + e.getValue().reason() + ")");
                case Listing.PENDING -> pending.add(e.getKey());
                default -> {
                }
            }
        }
        StringBuilder sb = new StringBuilder();
        if (!failed.isEmpty()) {
            sb.append(failed.size() == 1 ? " The model listing of " + failed.getFirst() + " failed, so it may be served there."
                    : " The model listings of " + String.join(", ", failed) + " failed, so it may be served by one of them.");
        }
        if (!pending.isEmpty()) {
            sb.append(pending.size() == 1 ? " The model listing of " + pending.getFirst() + " has not arrived yet."
                    : " The model listings of " + String.join(", ", pending) + " have not arrived yet.");
        }
        return sb.toString();
    }

    /** The OpenAI model list, ids qualified as provider/model, plus each provider's listing status. */
    private static byte[] render(Map<String, Listing> listings) {
        ByteBuf buf = Json.write(ByteBufAllocator.DEFAULT, g -> {
            g.writeStartObject();
            g.writeStringField("object", "list");
            g.writeArrayFieldStart("data");
            for (Map.Entry<String, Listing> e : listings.entrySet()) {
                for (Model m : e.getValue().models()) writeModel(g, e.getKey(), m);
            }
            g.writeEndArray();
            g.writeArrayFieldStart("providers");
            for (Map.Entry<String, Listing> e : listings.entrySet()) {
                g.writeStartObject();
                g.writeStringField("name", e.getKey());
                g.writeStringField("status", e.getValue().status());
                g.writeNumberField("models", e.getValue().models().size());
                if (e.getValue().error() != null) g.writeStringField("error", e.getValue().error());
                g.writeEndObject();
            }
            g.writeEndArray();
            g.writeEndObject();
        });
        try {
            return ByteBufUtil.getBytes(buf);
        } finally {
            buf.release();
        }
    }

    private static void writeModel(com.fasterxml.jackson.core.JsonGenerator g, String provider, Model m) throws IOException {
        g.writeStartObject();
        g.writeStringField("id", provider + "/" + m.id());
        g.writeStringField("object", "model");
        g.writeNumberField("created", m.created());
        g.writeStringField("owned_by", m.ownedBy() != null ? m.ownedBy() : provider);
        g.writeEndObject();
    }

    private static byte[] renderModel(String provider, Model m) {
        ByteBuf buf = Json.write(ByteBufAllocator.DEFAULT, g -> writeModel(g, provider, m));
        try {
            return ByteBufUtil.getBytes(buf);
        } finally {
            buf.release();
        }
    }

    private static List<Model> configured(Provider p) {
        return p.configuredModels().stream().map(id -> new Model(id, 0, p.name())).toList();
    }

    /**
     * Reads {@code id}, {@code created} and {@code owned_by} of each model from an OpenAI model list:
     * {@code {"data":[...]}}, or a bare array, as some compatible servers answer; or Gemini's
     * {@code {"models":[{"name":"models/..."}]}}.
     */
    static List<Model> parse(ByteBuf body) throws IOException {
        List<Model> out = new ArrayList<>();
        try (InputStream in = new ByteBufInputStream(body.duplicate()); JsonParser p = Json.FACTORY.createParser(in)) {
            JsonToken root = p.nextToken();
            if (root == JsonToken.START_ARRAY) {
                readModels(p, out);
                return out;
            }
            if (root != JsonToken.START_OBJECT) throw new IOException("expected a JSON object or array");
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                JsonToken v = p.nextToken();
                // OpenAI's "data", or Gemini's "models" (ids there are names like "models/gemini-2.5-pro")
                if (!(field.equals("data") || field.equals("models")) || v != JsonToken.START_ARRAY) {
                    p.skipChildren();
                    continue;
                }
                readModels(p, out);
            }
        }
        return out;
    }

    /** Reads model objects until the end of the array the parser is in. */
    private static void readModels(JsonParser p, List<Model> out) throws IOException {
        JsonToken t;
        while ((t = p.nextToken()) != JsonToken.END_ARRAY && t != null) {
            if (t != JsonToken.START_OBJECT) {
                p.skipChildren();
                continue;
            }
            String id = null, owner = null;
            long created = 0;
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                JsonToken mv = p.nextToken();
                switch (name) {
                    case "id" -> id = mv == JsonToken.VALUE_STRING ? p.getText() : null;
                    case "name" -> {
                        if (id == null && mv == JsonToken.VALUE_STRING) {
                            String full = p.getText();
                            id = full.startsWith("models/") ? full.substring(7) : full;
                        } else {
                            p.skipChildren();
                        }
                    }
                    case "created" -> created = mv == JsonToken.VALUE_NUMBER_INT ? p.getLongValue() : 0;
                    case "owned_by" -> owner = mv == JsonToken.VALUE_STRING ? p.getText() : null;
                    default -> p.skipChildren();
                }
            }
            if (id != null && !id.isBlank()) out.add(new Model(id, created, owner));
        }
    }

    private static boolean looksLikeJson(String text) {
        String t = text.stripLeading();
        return t.startsWith("{") || t.startsWith("[");
    }

    private static String abbreviate(String s) {
        String flat = s.strip().replaceAll("\\s+", " ");
        return flat.length() > 300 ? flat.substring(0, 300) + "..." : flat;
    }
}
