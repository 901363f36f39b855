package dev.skiff.server;

import dev.skiff.dialect.ClientDialect;
import dev.skiff.dialect.OpenAiErrors;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.AsciiString;

/** Writing complete responses to the client: JSON bodies and errors in the client's dialect. */
final class Replies {
    static final AsciiString X_REQUEST_ID = AsciiString.cached("x-request-id");

    private Replies() {}

    static FullHttpResponse json(HttpResponseStatus status, ByteBuf body, String requestId) {
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, body);
        r.headers()
                .set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON)
                .setInt(HttpHeaderNames.CONTENT_LENGTH, body.readableBytes())
                .set(X_REQUEST_ID, requestId);
        return r;
    }

    static FullHttpResponse json(HttpResponseStatus status, byte[] body, String requestId) {
        return json(status, Unpooled.wrappedBuffer(body), requestId);
    }

    static FullHttpResponse openAiError(ChannelHandlerContext ctx, int status, String message, String type, String param,
                                        String code, String requestId) {
        ByteBuf body = OpenAiErrors.envelope(ctx.alloc(), message, type, param, code);
        return json(HttpResponseStatus.valueOf(status), body, requestId);
    }

    static FullHttpResponse openAiError(ChannelHandlerContext ctx, int status, String message, String code, String requestId) {
        return openAiError(ctx, status, message, OpenAiErrors.typeFor(status), null, code, requestId);
    }

    /**
     * An error in the client's dialect: OpenAI's envelope (with {@code openAiType}) on the OpenAI
     * endpoints, Anthropic's shape on {@code /v1/messages}.
     */
    static FullHttpResponse error(ChannelHandlerContext ctx, ClientDialect dialect, int status, String message, String openAiType,
                                  String param, String code, String requestId) {
        if (dialect != ClientDialect.ANTHROPIC_MESSAGES) return openAiError(ctx, status, message, openAiType, param, code, requestId);
        return json(HttpResponseStatus.valueOf(status), dialect.errorBody(ctx.alloc(), status, message, param, code), requestId);
    }

    /** Sends a complete response, closing the connection afterwards unless it is kept alive. */
    static void send(ChannelHandlerContext ctx, FullHttpResponse response, boolean keepAlive) {
        flushLast(ctx, closing(response, keepAlive), keepAlive);
    }

    /** {@code response}, saying it is the connection's last unless the connection is kept alive (sent later, by {@link #flushLast}). */
    static FullHttpResponse closing(FullHttpResponse response, boolean keepAlive) {
        if (!keepAlive) response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        return response;
    }

    /** Writes and flushes the end of an answer, closing the connection afterwards unless it is kept alive. */
    static void flushLast(ChannelHandlerContext ctx, Object last, boolean keepAlive) {
        // Nothing waits on a kept-alive answer's write: no promise is made for it (a failed write
        // reaches the pipeline's exceptionCaught, which closes the connection).
        if (keepAlive) ctx.writeAndFlush(last, ctx.voidPromise());
        else ctx.writeAndFlush(last).addListener(ChannelFutureListener.CLOSE);
    }
}
