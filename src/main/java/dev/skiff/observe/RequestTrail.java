package dev.skiff.observe;

import dev.skiff.observe.trace.Span;
import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import java.util.Arrays;
import java.util.Map;

/**
 * What one request left behind for the audit log and its trace: the client's request and the
 * response it got, what was sent to the provider and what came back, and when each step happened.
 * Filled on the request's event loop as the request goes (each capture copies at most the cap), then
 * handed whole to the observers' threads when the request ends; nothing touches it after that.
 *
 * <p>Only requests that something captures have one: with the audit log off and the request not
 * traced there is no trail at all, and every hook is a null check.
 */
public final class RequestTrail {
    public final long receivedMs = System.currentTimeMillis();
    public final long receivedNanos = System.nanoTime();
    /** Bytes of each body kept; 0 keeps no bodies (audit level metadata, or traced only). */
    private final int cap;
    private final boolean audited;
    /** Headers are copied at the bodies level only: metadata stays cheap (measured: headers were most of a metadata record). */
    private final boolean keepHeaders;

    String method;
    String uri;
    String[] requestHeaders;
    Capped requestBody;

    // the provider's side (the last attempt's)
    int attempts;
    long upstreamSentNanos = -1;
    long upstreamConnectedNanos = -1;
    long upstreamFirstByteNanos = -1;
    long upstreamFirstContentNanos = -1;
    long finishedNanos = -1;
    boolean upstreamReused;
    String upstreamMethod;
    String upstreamUri;
    /** The provider's base URL when the head's URI is relative: joined by the writer, not on the event loop. */
    String upstreamBase;
    String[] upstreamRequestHeaders;
    Capped upstreamRequestBody;
    int upstreamStatus;
    String[] upstreamResponseHeaders;
    Capped upstreamResponseBody;

    // the client's response
    int clientStatus;
    String[] clientResponseHeaders;
    Capped clientResponseBody;
    /** Per client body piece: the byte offset it ends at, and its time in µs since receipt. Compact, grown by doubling. */
    long[] pieces;
    int pieceCount;

    private boolean finished;
    /** The audit record goes in the request's usage row (the usage writer makes it), not to the audit log's writer. */
    private boolean inUsageRow;

    /** The model the provider's answer named (it may differ from the one asked: a dated snapshot); null when none did. */
    public String responseModel;

    // tracing: the server span, and the current attempt's client span
    public Span serverSpan;
    public Span clientSpan;
    /** Client spans of attempts that were superseded by a retry or failover; null until there is one. */
    public java.util.List<Span> earlierClientSpans;

    RequestTrail(boolean audited, int cap, boolean keepHeaders) {
        this.audited = audited;
        this.keepHeaders = keepHeaders;
        this.cap = cap;
    }

    public boolean audited() {
        return audited;
    }

    /** Whether the usage writer makes this request's audit record, in its usage row (see {@link Observers#finished}). */
    public boolean inUsageRow() {
        return inUsageRow;
    }

    /** Whether the request began at audit level bodies (its record keeps headers and bodies); else metadata, or not audited. */
    public boolean auditsBodies() {
        return audited && keepHeaders;
    }

    public boolean keepsBodies() {
        return cap > 0;
    }

    /** The request as the client sent it (head, and body when it came whole). */
    public void request(HttpRequest req) {
        method = req.method().name();
        uri = req.uri();
        if (keepHeaders) requestHeaders = headers(req.headers());
        if (cap > 0 && req instanceof FullHttpRequest full) {
            requestBody = new Capped(cap);
            requestBody.add(full.content());
        }
    }

    /** A piece of a request body that arrives after its head (passthrough). */
    public void requestContent(ByteBuf piece) {
        if (cap <= 0) return;
        if (requestBody == null) requestBody = new Capped(cap);
        requestBody.add(piece);
    }

    /** The request sent to the provider (after translation); one call per attempt, the last is kept. */
    public void upstreamRequest(HttpRequest head, ByteBuf body) {
        attempts++;
        upstreamSentNanos = System.nanoTime();
        upstreamConnectedNanos = -1;
        upstreamFirstByteNanos = -1;
        upstreamFirstContentNanos = -1;
        upstreamStatus = 0;
        upstreamResponseHeaders = null;
        if (upstreamResponseBody != null) upstreamResponseBody.release(); // the attempt before: no longer kept
        if (upstreamRequestBody != null) upstreamRequestBody.release();
        upstreamRequestBody = null;
        upstreamResponseBody = null;
        if (!audited) return;
        upstreamMethod = head.method().name();
        upstreamUri = head.uri();
        upstreamBase = null;
        if (keepHeaders) upstreamRequestHeaders = headers(head.headers());
        if (cap > 0 && body != null) {
            upstreamRequestBody = Capped.shareIfSame(requestBody, body); // sent on untranslated: no second copy
            if (upstreamRequestBody == null) {
                upstreamRequestBody = new Capped(cap);
                upstreamRequestBody.add(body);
            }
        }
    }

    /** The host the request goes to, when the head's URI is relative (it names the path only). */
    public void upstreamHost(String base) {
        if (upstreamUri != null && upstreamUri.startsWith("/")) upstreamBase = base;
    }

    public void upstreamConnected(boolean reused) {
        upstreamConnectedNanos = System.nanoTime();
        upstreamReused = reused;
    }

    public void upstreamHead(HttpResponse head) {
        upstreamHead(head, System.nanoTime());
    }

    /** The provider's response head, which came at {@code nanos} (the caller's own reading of the clock: not read twice). */
    public void upstreamHead(HttpResponse head, long nanos) {
        upstreamFirstByteNanos = nanos;
        upstreamStatus = head.status().code();
        if (keepHeaders) upstreamResponseHeaders = headers(head.headers());
    }

    public void upstreamContent(ByteBuf piece) {
        upstreamContent(piece, upstreamFirstContentNanos < 0 ? System.nanoTime() : upstreamFirstContentNanos);
    }

    /** A piece of the provider's response body; the body's first byte came at {@code firstNanos} (the caller's reading). */
    public void upstreamContent(ByteBuf piece, long firstNanos) {
        if (upstreamFirstContentNanos < 0) upstreamFirstContentNanos = firstNanos;
        if (cap <= 0) return;
        if (upstreamResponseBody == null) upstreamResponseBody = new Capped(cap);
        upstreamResponseBody.add(piece);
    }

    /** What Skiff wrote to the client: a response head, body pieces, or a whole response. */
    public void clientWrite(Object msg) {
        if (finished || !audited) return;
        if (msg instanceof WholeAnswer w) {
            clientStatus = w.statusCode();
            if (keepHeaders) clientResponseHeaders = w.headerPairs();
            clientContent(w.content(), true);
            return;
        }
        if (msg instanceof AnswerHead h) { // a stream's head, written out by the server itself
            clientStatus = h.statusCode();
            if (keepHeaders) clientResponseHeaders = h.headerPairs();
            return;
        }
        if (msg instanceof HttpResponse r) {
            clientStatus = r.status().code();
            if (keepHeaders) clientResponseHeaders = headers(r.headers());
        }
        if (msg instanceof HttpContent c) clientContent(c.content(), msg instanceof FullHttpResponse);
    }

    /** A piece of the client's response body ({@code whole}: the entire body, in one message). */
    private void clientContent(ByteBuf b, boolean whole) {
        if (b.readableBytes() == 0) return;
        if (cap > 0) {
            if (clientResponseBody == null && whole) {
                // A whole answer passed on as the provider gave it: its capture is the provider's, not a copy.
                clientResponseBody = Capped.shareIfSame(upstreamResponseBody, b);
                if (clientResponseBody == null) {
                    clientResponseBody = new Capped(cap);
                    clientResponseBody.add(b);
                }
            } else {
                if (clientResponseBody == null) clientResponseBody = new Capped(cap);
                clientResponseBody.add(b);
            }
        }
        if (pieces == null) pieces = new long[4]; // room for two pieces (a whole answer is one): every audited request has this array, a stream grows it
        else if (pieceCount * 2 + 2 > pieces.length) {
            if (pieces.length >= MAX_PIECES * 2) return; // the timing of an endless stream stops being kept, its bytes are capped anyway
            pieces = Arrays.copyOf(pieces, pieces.length * 2);
        }
        long end = clientResponseBody != null ? clientResponseBody.total() : (pieceCount == 0 ? 0 : pieces[pieceCount * 2 - 2]) + b.readableBytes();
        pieces[pieceCount * 2] = end;
        pieces[pieceCount * 2 + 1] = (System.nanoTime() - receivedNanos) / 1000;
        pieceCount++;
    }

    private static final int MAX_PIECES = 8192;

    private boolean released;

    /** Gives the captured bodies' heap back to the budget (see CaptureBudget); once, by whoever last needs them. */
    public void release() {
        if (released) return;
        released = true;
        for (Capped c : new Capped[] {requestBody, upstreamRequestBody, upstreamResponseBody, clientResponseBody}) if (c != null) c.release();
    }

    /**
     * As {@link #release}, except that the bodies' share of the budget stays held, and is returned: the
     * caller keeps their bytes (a row made of them, waiting to be stored) and gives it back with {@link
     * #giveBack} once it no longer does, so the heap bodies hold stays bounded while the trail itself
     * is let go.
     */
    public long handOver() {
        if (released) return 0;
        released = true;
        long n = 0;
        for (Capped c : new Capped[] {requestBody, upstreamRequestBody, upstreamResponseBody, clientResponseBody}) if (c != null) n += c.handOver();
        return n;
    }

    /** Gives back budget taken over with {@link #handOver}. */
    public static void giveBack(long bytes) {
        CaptureBudget.release(bytes);
    }

    /** Bytes of the capture budget held now, by trails and by whoever took theirs over (tests: none held once all is stored). */
    public static long budgetHeld() {
        return CaptureBudget.held();
    }

    void inUsageRow(boolean v) {
        inUsageRow = v;
    }

    /** Ends the capture: called once, when the request's record is made. */
    public void finish() {
        if (!finished) finish(System.nanoTime());
    }

    /** As {@link #finish()}, at {@code nanos} (a caller that has just read the clock); the first call counts. */
    public void finish(long nanos) {
        if (finished) return;
        finished = true;
        finishedNanos = nanos;
    }

    public boolean isFinished() {
        return finished;
    }

    static String[] headers(HttpHeaders h) {
        String[] out = new String[h.size() * 2];
        int i = 0;
        for (Map.Entry<String, String> e : h) {
            if (i + 1 >= out.length) break;
            out[i++] = e.getKey();
            out[i++] = e.getValue();
        }
        return i == out.length ? out : Arrays.copyOf(out, i);
    }

    // read by the audit writer once the trail is finished

    public String method() { return method; }
    public String uri() { return uri; }
    public String[] requestHeaders() { return requestHeaders; }
    public Capped requestBody() { return requestBody; }
    public int attempts() { return attempts; }
    public long upstreamSentNanos() { return upstreamSentNanos; }
    public long upstreamConnectedNanos() { return upstreamConnectedNanos; }
    public long upstreamFirstByteNanos() { return upstreamFirstByteNanos; }
    public long upstreamFirstContentNanos() { return upstreamFirstContentNanos; }
    public long finishedNanos() { return finishedNanos; }
    /** Whether the last attempt went on a pooled connection rather than a new one. */
    public boolean upstreamReused() { return upstreamReused; }
    public String upstreamMethod() { return upstreamMethod; }
    public String upstreamUri() { return upstreamBase == null ? upstreamUri : upstreamBase + upstreamUri; }
    public String[] upstreamRequestHeaders() { return upstreamRequestHeaders; }
    public Capped upstreamRequestBody() { return upstreamRequestBody; }
    public int upstreamStatus() { return upstreamStatus; }
    public String[] upstreamResponseHeaders() { return upstreamResponseHeaders; }
    public Capped upstreamResponseBody() { return upstreamResponseBody; }
    public int clientStatus() { return clientStatus; }
    public String[] clientResponseHeaders() { return clientResponseHeaders; }
    public Capped clientResponseBody() { return clientResponseBody; }
    public int pieceCount() { return pieceCount; }
    /** Piece {@code i}: the client body offset it ends at. */
    public long pieceEnd(int i) { return pieces[i * 2]; }
    /** Piece {@code i}: µs since receipt when it was written. */
    public long pieceMicros(int i) { return pieces[i * 2 + 1]; }
}
