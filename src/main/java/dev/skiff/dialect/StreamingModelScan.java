package dev.skiff.dialect;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.async.ByteBufferFeeder;
import io.netty.buffer.ByteBuf;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Finds the top-level {@code "model"} string of a JSON request body that goes by in pieces, without
 * keeping them: a non-blocking parser is fed each piece as it passes. SDKs often write {@code model}
 * after {@code messages}, so the whole body may be tokenized; it stops at the first answer, and gives
 * up quietly on anything that is not a JSON object.
 */
public final class StreamingModelScan {
    private JsonParser parser;
    private int depth;
    private boolean modelNext;
    private String model;

    public StreamingModelScan() {
        try {
            parser = Json.FACTORY.createNonBlockingByteBufferParser();
        } catch (IOException e) {
            parser = null;
        }
    }

    /** Reads one piece of the body; does not consume it. */
    public void feed(ByteBuf piece) {
        if (parser == null || !piece.isReadable()) return;
        try {
            ByteBufferFeeder feeder = (ByteBufferFeeder) parser.getNonBlockingInputFeeder();
            for (ByteBuffer b : piece.nioBuffers()) {
                feeder.feedInput(b);
                JsonToken t;
                while ((t = parser.nextToken()) != null && t != JsonToken.NOT_AVAILABLE) {
                    if (see(t)) {
                        stop();
                        return;
                    }
                }
                if (t == null) { // the document ended
                    stop();
                    return;
                }
            }
        } catch (IOException | RuntimeException e) {
            stop();
        }
    }

    /** True once the scan is over (found, or not to be found). */
    private boolean see(JsonToken t) throws IOException {
        switch (t) {
            case START_OBJECT, START_ARRAY -> {
                if (depth == 0 && t != JsonToken.START_OBJECT) return true;
                depth++;
                modelNext = false;
            }
            case END_OBJECT, END_ARRAY -> {
                depth--;
                if (depth == 0) return true;
            }
            case FIELD_NAME -> modelNext = depth == 1 && "model".equals(parser.currentName());
            case VALUE_STRING -> {
                if (modelNext) {
                    model = parser.getText();
                    return true;
                }
            }
            default -> modelNext = false;
        }
        return false;
    }

    private void stop() {
        if (parser == null) return;
        try {
            parser.close();
        } catch (IOException ignored) {
            // nothing held but the parser's own buffers
        }
        parser = null;
    }

    /** The model named so far, or null. */
    public String model() {
        return model;
    }

    /** Frees the parser's buffers early (for a body that ended before the scan did). */
    public void close() {
        stop();
    }
}
