package dev.skiff.server;

import dev.skiff.control.Caller;
import dev.skiff.control.keys.ModelSelectors;
import dev.skiff.observe.UsageLog;
import dev.skiff.provider.Provider;
import dev.skiff.upstream.UpstreamClient;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.AsciiString;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code /p/{provider}/{path}}: a request sent to a configured provider as it came, any method, its
 * body streamed on as it arrives, with the provider's credentials in place of the client's. The
 * path is relative to the provider's configured base URL ({@code /p/openai/chat/completions} with the
 * default {@code https://api.openai.com/v1} reaches {@code /v1/chat/completions}); the query is kept.
 *
 * <p>One exception: Bedrock with AWS keys. SigV4 signs a hash of the whole body, which a streamed
 * request does not have before it is sent, so for such a provider only the body is gathered (off
 * heap, up to the server's body-size limit, 413 beyond) and the request is signed and sent once it
 * is whole; the response still streams back as it arrives. With a Bedrock API key nothing is signed
 * and the body streams like any other.
 */
final class Passthrough {
    /** The model a passthrough target is known by in the attempt log and the circuit breakers: its body is never read. */
    static final String PASSTHROUGH_MODEL = "(passthrough)";
    private static final AsciiString ANTHROPIC_VERSION = AsciiString.cached("anthropic-version");

    private final Map<String, Provider> providers = new LinkedHashMap<>();
    private final UpstreamClient upstream;
    private final dev.skiff.observe.Observers observers;
    private volatile dev.skiff.control.limits.Limits limits; // null: no limits

    private volatile dev.skiff.routing.Routing routing; // null: one attempt per request

    void limits(dev.skiff.control.limits.Limits l) {
        limits = l;
    }

    void routing(dev.skiff.routing.Routing r) {
        routing = r;
    }

    Passthrough(List<Provider> providers, UpstreamClient upstream, dev.skiff.observe.Observers observers) {
        this.upstream = upstream;
        this.observers = observers;
        for (Provider p : providers) this.providers.put(p.name(), p);
    }

    /**
     * Starts one passthrough request; its body pieces follow through {@link PassthroughCall#onClientContent}.
     * Always returns the call, already finished when the request was refused.
     */
    PassthroughCall start(ChannelHandlerContext ctx, HttpRequest req, long maxBodyBytes, Caller caller) {
        String requestId = RequestIds.accept(req.headers().get(Replies.X_REQUEST_ID));
        boolean hasBody = HttpUtil.isTransferEncodingChunked(req) || HttpUtil.getContentLength(req, 0L) > 0;
        dev.skiff.observe.RequestTrail trail = observers.begin(req);
        if (trail != null && trail.audited()) dev.skiff.observe.audit.AuditTap.attach(ctx, trail);
        PassthroughCall call = new PassthroughCall(ctx, observers, trail, requestId, HttpUtil.isKeepAlive(req), hasBody, req.method(), caller);
        if (!req.decoderResult().isSuccess()) {
            call.refuse(400, "The HTTP request is malformed.", "bad_request");
            return call;
        }

        // authenticated already, on the head (see ClientGate)

        // route: the provider is named, not chosen
        PassthroughTarget target = PassthroughTarget.parse(req.uri());
        Provider provider = target == null ? null : providers.get(target.provider());
        if (provider == null) {
            call.refuse(404, "Unknown provider" + (target == null ? "" : " '" + target.provider() + "'")
                    + " in " + PassthroughTarget.PREFIX + "{provider}/...; configured: " + String.join(", ", providers.keySet()) + ".",
                    "provider_not_found");
            return call;
        }
        // authorize: a passthrough body is never read, so its model cannot be checked: a key limited to
        // some models of this provider is refused here rather than trusted.
        if (caller.key() != null && !ModelSelectors.allowsWholeProvider(caller.key().allowedModels(), provider.name())) {
            call.refuse(403, "This API key may use only some models of '" + provider.name() + "' (" + String.join(", ",
                    caller.key().allowedModels()) + "), and passthrough (" + PassthroughTarget.PREFIX + ") cannot check the model; "
                    + "use /v1/..., or a key allowed '" + provider.name() + "/*'.", "model_not_allowed");
            return call;
        }
        // admit: a passthrough body is never read, so neither its tokens nor its cost can be reserved
        // and settled; a request that limits would count is refused rather than let past them.
        dev.skiff.control.limits.Limits l = limits;
        com.fasterxml.jackson.databind.JsonNode keyLimits = caller.key() == null ? null : caller.key().limits();
        if (l != null && !l.idle(keyLimits) && !l.charges(caller.keyId(), keyLimits, caller.userPath(), caller.endUser(),
                new dev.skiff.control.limits.Limits.Call(provider.type(), null, 0, -1, false)).isEmpty()) {
            call.refuse(403, "Limits (rate limits, quotas or budgets) apply to these requests, and passthrough ("
                    + PassthroughTarget.PREFIX + ") cannot count them, since Skiff does not read its bodies; use /v1/... instead.",
                    "passthrough_limited");
            return call;
        }
        String pathProblem = target.problem();
        if (pathProblem != null) {
            call.refuse(400, "The path after " + PassthroughTarget.PREFIX + provider.name() + " cannot be sent: " + pathProblem
                    + ", which servers resolve differently (it could leave the provider's base URL).", "invalid_path");
            return call;
        }
        String requestTarget = provider.basePath() + target.rest();
        PassthroughSigning signing = null;
        if (PassthroughSigning.needed(provider)) {
            try {
                signing = PassthroughSigning.of(provider, requestTarget);
            } catch (PassthroughSigning.BadQuery e) {
                call.refuse(400, "The query string cannot be read to be signed: " + e.getMessage(), "invalid_query");
                return call;
            } catch (IllegalArgumentException e) {
                call.refuse(500, "Provider '" + provider.name() + "' has no usable AWS credentials: " + e.getMessage(),
                        "provider_misconfigured");
                return call;
            }
            // Refused before it is sent when it says so up front (and before 100 Continue invites it).
            if (HttpUtil.getContentLength(req, -1L) > maxBodyBytes) {
                call.refuseTooLarge(maxBodyBytes);
                return call;
            }
            requestTarget = signing.requestTarget();
        }

        HttpRequest head = new DefaultHttpRequest(HttpVersion.HTTP_1_1, req.method(), requestTarget);
        HttpHeaders h = head.headers();
        h.set(req.headers());
        boolean chunked = HttpUtil.isTransferEncodingChunked(req);
        String clientAnthropicVersion = h.get(ANTHROPIC_VERSION);
        PassthroughHeaders.stripForUpstream(h);
        provider.applyHeaders(h);
        // A client that speaks Anthropic's API picks its version; Skiff's default is for its own translation.
        if (clientAnthropicVersion != null) h.set(ANTHROPIC_VERSION, clientAnthropicVersion);
        if (signing != null) {
            // Framed once the body is whole (Content-Length); the client's own signature, if any, goes.
            PassthroughSigning.stripClientSignature(h);
            h.remove(HttpHeaderNames.CONTENT_LENGTH);
        } else if (chunked) {
            h.remove(HttpHeaderNames.CONTENT_LENGTH);
            h.set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
        }
        h.set(Replies.X_REQUEST_ID, requestId);

        // The body is wanted: say so to a client that waits for leave to send it.
        if (HttpUtil.is100ContinueExpected(req)) {
            ctx.writeAndFlush(new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.CONTINUE), ctx.voidPromise());
        }
        String type = req.headers().get(HttpHeaderNames.CONTENT_TYPE);
        boolean jsonBody = hasBody && type != null && type.contains("json");
        call.streamsOf(target.rest());
        dev.skiff.routing.Routing routing = this.routing;
        // Only a request that can be sent again unchanged is retried: one without a body, of a method
        // that changes nothing (a POST may have been acted on before its connection broke).
        if (routing != null && routing.config().retry().maxRetries() > 0 && !hasBody
                && (req.method().equals(io.netty.handler.codec.http.HttpMethod.GET) || req.method().equals(io.netty.handler.codec.http.HttpMethod.HEAD)
                || req.method().equals(io.netty.handler.codec.http.HttpMethod.OPTIONS))) {
            dev.skiff.routing.Plan plan = new dev.skiff.routing.Plan(List.of(new dev.skiff.routing.Route(provider, PASSTHROUGH_MODEL)), true);
            call.retrying(Attempts.passthrough(routing, plan, System.nanoTime() + upstream.timeouts().total().toNanos(),
                    (c, route) -> c.start(upstream, provider, head, false)));
        }
        if (signing != null) call.gather(upstream, provider, head, jsonBody, signing, maxBodyBytes);
        else call.start(upstream, provider, head, jsonBody);
        return call;
    }
}
