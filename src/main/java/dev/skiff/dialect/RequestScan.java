package dev.skiff.dialect;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.exc.StreamReadException;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufInputStream;
import java.io.IOException;
import java.io.InputStream;

/**
 * What the gateway needs to know about an OpenAI-style request body, read in one streaming pass
 * without building a tree: the model (and where its value sits, so it can be rewritten in place),
 * whether a stream is asked for, and where {@code stream_options} is. Everything else is only
 * tokenized (which also proves the body is well-formed JSON) and left as bytes.
 *
 * <p>Offsets are byte offsets into the body, end exclusive; -1 when absent. {@code maxTokens} is the
 * largest answer asked for ({@code max_tokens}, {@code max_completion_tokens} or
 * {@code max_output_tokens}), -1 when none is: limits reserve it before the call.
 * {@code endUser} is the
 * end user the body names, if any: {@code safety_identifier}, else {@code user}, else
 * {@code metadata.user_id} (Anthropic's), each only when it is a string.
 */
public record RequestScan(
        int rootStart,
        String model, int modelStart, int modelEnd,
        boolean stream,
        int streamOptionsStart, int streamOptionsEnd, boolean streamOptionsIsObject, boolean streamOptionsEmpty,
        Boolean includeUsage, int includeUsageStart, int includeUsageEnd,
        long maxTokens, String endUser) {

    /** Scans a body without checking the types of other fields than its own. */
    public static RequestScan of(ByteBuf body) throws BadRequestException {
        return of(body, JsonTypes.NONE);
    }

    /**
     * Scans a body; throws {@link BadRequestException} for what the client must fix, a top-level
     * field of {@code types} with a value of the wrong JSON type included.
     */
    public static RequestScan of(ByteBuf body, JsonTypes.Table types) throws BadRequestException {
        if (!body.isReadable()) throw new BadRequestException("The request body is empty; a JSON object is required.", null);
        // A parser over an array (the heap buffer's own, else this thread's copy of the bytes) reads
        // them where they lie: over a stream it would also take an 8 KB read buffer and copy into it.
        byte[] a = Bytes.readable(body);
        if (a != null) {
            // Most bodies are read without a parser; the others, and every error, go the parser's way.
            RequestScan plain = PlainScan.of(a, body.readableBytes(), types);
            if (plain != null) return plain;
        }
        return parsed(body, a, types);
    }

    /** The scan by Jackson's parser (over {@code a}, the body's bytes from {@link Bytes#readable}, when not null). */
    static RequestScan parsed(ByteBuf body, byte[] a, JsonTypes.Table types) throws BadRequestException {
        try (JsonParser p = a != null ? Json.FACTORY.createParser(a, 0, body.readableBytes())
                : Json.FACTORY.createParser((InputStream) new ByteBufInputStream(body.duplicate()))) {
            return scan(p, types);
        } catch (StreamReadException e) {
            throw new BadRequestException("The request body is not valid JSON: " + e.getOriginalMessage(), null);
        } catch (IOException e) {
            throw new BadRequestException("The request body could not be read: " + e.getMessage(), null);
        }
    }

    private static RequestScan scan(JsonParser p, JsonTypes.Table types) throws IOException, BadRequestException {
        if (p.nextToken() != JsonToken.START_OBJECT) {
            throw new BadRequestException("The request body must be a JSON object.", null);
        }
        int rootStart = offset(p.currentTokenLocation().getByteOffset());
        String model = null;
        int modelStart = -1, modelEnd = -1;
        boolean stream = false;
        int soStart = -1, soEnd = -1;
        boolean soObject = false, soEmpty = true;
        Boolean includeUsage = null;
        int iuStart = -1, iuEnd = -1;
        long maxTokens = -1;
        String safetyIdentifier = null, user = null, metadataUser = null;

        JsonToken t;
        while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
            String field = p.currentName();
            JsonToken v = p.nextToken();
            switch (field) {
                case "model" -> {
                    if (v != JsonToken.VALUE_STRING) throw new BadRequestException("'model' must be a string.", "model");
                    modelStart = offset(p.currentTokenLocation().getByteOffset());
                    model = p.getText();
                    modelEnd = offset(p.currentLocation().getByteOffset());
                }
                case "stream" -> {
                    if (v == JsonToken.VALUE_TRUE) stream = true;
                    else if (v == JsonToken.VALUE_FALSE || v == JsonToken.VALUE_NULL) stream = false;
                    else throw new BadRequestException("'stream' must be a boolean.", "stream");
                }
                case "stream_options" -> {
                    boolean checkOptions = types.kindsOf("stream_options") != 0; // an API that documents it
                    soStart = offset(p.currentTokenLocation().getByteOffset());
                    if (v == JsonToken.START_OBJECT) {
                        soObject = true;
                        while (p.nextToken() == JsonToken.FIELD_NAME) {
                            soEmpty = false;
                            String name = p.currentName();
                            JsonToken ov = p.nextToken();
                            if (name.equals("include_usage")) {
                                if (checkOptions && ov != JsonToken.VALUE_TRUE && ov != JsonToken.VALUE_FALSE && ov != JsonToken.VALUE_NULL) {
                                    throw new BadRequestException("'stream_options.include_usage' must be a boolean.",
                                            "stream_options.include_usage");
                                }
                                // A null is recorded with its span too, so a rewrite replaces it rather
                                // than adding a second member with the same name.
                                includeUsage = ov == JsonToken.VALUE_TRUE ? Boolean.TRUE : ov == JsonToken.VALUE_FALSE ? Boolean.FALSE : null;
                                iuStart = offset(p.currentTokenLocation().getByteOffset());
                                skipValue(p);
                                iuEnd = offset(p.currentLocation().getByteOffset());
                            } else {
                                p.skipChildren();
                            }
                        }
                    } else if (checkOptions && v != JsonToken.VALUE_NULL) {
                        throw new BadRequestException("'stream_options' must be an object.", "stream_options");
                    } else {
                        skipValue(p);
                    }
                    soEnd = offset(p.currentLocation().getByteOffset());
                }
                case "max_tokens", "max_completion_tokens", "max_output_tokens" -> {
                    int kinds = types.kindsOf(field);
                    if (kinds != 0 && !JsonTypes.accepts(kinds, p)) throw JsonTypes.wrongType(field, kinds, v);
                    if (v == JsonToken.VALUE_NUMBER_INT && p.getNumberType() != JsonParser.NumberType.BIG_INTEGER) {
                        maxTokens = Math.max(maxTokens, p.getLongValue());
                    }
                    p.skipChildren();
                }
                default -> {
                    // One table lookup per top-level field, on tokens the scan reads anyway.
                    int kinds = types.kindsOf(field);
                    if (kinds != 0 && !JsonTypes.accepts(kinds, p)) throw JsonTypes.wrongType(field, kinds, v);
                    // Who the end user is: read only from the few fields that say it.
                    if (v == JsonToken.VALUE_STRING) {
                        if (field.equals("safety_identifier")) safetyIdentifier = p.getText();
                        else if (field.equals("user")) user = p.getText();
                    } else if (v == JsonToken.START_OBJECT && field.equals("metadata")) {
                        while (p.nextToken() == JsonToken.FIELD_NAME) {
                            boolean userId = p.currentName().equals("user_id");
                            JsonToken mv = p.nextToken();
                            if (userId && mv == JsonToken.VALUE_STRING) metadataUser = p.getText();
                            else p.skipChildren();
                        }
                    }
                    p.skipChildren();
                }
            }
        }
        if (t != JsonToken.END_OBJECT) throw new BadRequestException("The request body is not valid JSON.", null);
        if (p.nextToken() != null) throw new BadRequestException("The request body has content after the JSON object.", null);
        if (model == null) throw new BadRequestException("'model' is required.", "model");
        if (model.isBlank()) throw new BadRequestException("'model' must not be empty.", "model");
        return new RequestScan(rootStart, model, modelStart, modelEnd, stream, soStart, soEnd, soObject, soEmpty,
                includeUsage, iuStart, iuEnd, maxTokens, safetyIdentifier != null ? safetyIdentifier : user != null ? user : metadataUser);
    }

    /**
     * Moves past the current value so that {@code currentLocation()} is its end. Jackson reads string
     * contents lazily, so a string must be finished explicitly before its end is known.
     */
    private static void skipValue(JsonParser p) throws IOException {
        if (p.currentToken() == JsonToken.VALUE_STRING) p.finishToken();
        else p.skipChildren();
    }

    /** Whether {@code stream_options.include_usage} is present, whatever its value. */
    public boolean hasIncludeUsage() {
        return includeUsageStart >= 0;
    }

    private static int offset(long byteOffset) {
        return (int) byteOffset;
    }
}
