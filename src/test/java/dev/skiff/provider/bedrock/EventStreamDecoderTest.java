package dev.skiff.provider.bedrock;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.AbstractByteBufAllocator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.UnpooledDirectByteBuf;
import io.netty.buffer.UnpooledHeapByteBuf;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.zip.CRC32;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The event stream decoder against its own encoder, against published frames, against every way
 * of cutting a stream into chunks, and against corruption; and every buffer involved, the ones the
 * decoder allocates included, must be released at the end of each test.
 */
class EventStreamDecoderTest {
    /** Records every buffer it hands out so each test can prove none is left unreleased. */
    static final class TrackingAllocator extends AbstractByteBufAllocator {
        final List<ByteBuf> allocated = new ArrayList<>();

        TrackingAllocator() {
            super(false);
        }

        @Override
        protected ByteBuf newHeapBuffer(int initialCapacity, int maxCapacity) {
            return track(new UnpooledHeapByteBuf(this, initialCapacity, maxCapacity));
        }

        @Override
        protected ByteBuf newDirectBuffer(int initialCapacity, int maxCapacity) {
            return track(new UnpooledDirectByteBuf(this, initialCapacity, maxCapacity));
        }

        @Override
        public boolean isDirectBufferPooled() {
            return false;
        }

        private ByteBuf track(ByteBuf b) {
            allocated.add(b);
            return b;
        }
    }

    final TrackingAllocator alloc = new TrackingAllocator();

    @AfterEach
    void everyBufferIsReleased() {
        assertThat(alloc.allocated).isNotEmpty().allSatisfy(b -> assertThat(b.refCnt()).isZero());
    }

    /** A chunk as the HTTP client would deliver it; direct, like Netty's socket reads. */
    ByteBuf chunk(byte[] bytes, int from, int to) {
        ByteBuf b = alloc.directBuffer(Math.max(1, to - from));
        b.writeBytes(bytes, from, to - from);
        return b;
    }

    ByteBuf chunk(byte[] bytes) {
        return chunk(bytes, 0, bytes.length);
    }

    static byte[] concat(List<EventStreamMessage> messages) {
        List<byte[]> frames = messages.stream().map(EventStreamEncoder::encode).toList();
        byte[] all = new byte[frames.stream().mapToInt(f -> f.length).sum()];
        int at = 0;
        for (byte[] f : frames) {
            System.arraycopy(f, 0, all, at, f.length);
            at += f.length;
        }
        return all;
    }

    /** One header of every wire type, in a deliberate order. */
    static EventStreamMessage everyHeaderType() {
        Map<String, Object> h = new LinkedHashMap<>();
        h.put("bool true", true);
        h.put("bool false", false);
        h.put("byte", (byte) -7);
        h.put("short", (short) -12345);
        h.put("int", 0x7fff_0001);
        h.put("long", -4_000_000_000_000L);
        h.put("bytes", new byte[] {0, 1, (byte) 0xff, 42});
        h.put("string", "héllo ✓");
        h.put("timestamp", Instant.parse("2024-10-22T12:34:56.789Z"));
        h.put("uuid", UUID.fromString("123e4567-e89b-12d3-a456-426614174000"));
        return new EventStreamMessage(h, new byte[] {1, 2, 3});
    }

    /** What a ConverseStream response looks like, ending with a modelled exception. */
    static List<EventStreamMessage> stream() {
        return List.of(
                EventStreamEncoder.event("messageStart", "{\"role\":\"assistant\"}"),
                everyHeaderType(),
                EventStreamEncoder.event("contentBlockDelta", "{\"contentBlockIndex\":0,\"delta\":{\"text\":\"Hel\"}}"),
                new EventStreamMessage(Map.of(), new byte[0]), // the smallest frame: 16 bytes
                EventStreamEncoder.event("contentBlockDelta", "{\"contentBlockIndex\":0,\"delta\":{\"text\":\"lo\"}}"),
                EventStreamEncoder.exception("throttlingException", "{\"message\":\"slow down\"}"));
    }

    @Test
    void roundTripsSeveralMessagesInOneChunk() {
        List<EventStreamMessage> sent = stream();
        try (EventStreamDecoder decoder = new EventStreamDecoder(alloc)) {
            ByteBuf in = chunk(concat(sent));
            assertThat(decoder.decode(in)).containsExactlyElementsOf(sent);
            assertThat(in.refCnt()).isZero();
            assertThat(decoder.hasPartialMessage()).isFalse();
            decoder.finish();
        }
    }

    @Test
    void decodedHeadersKeepTheirTypesAndAccessorsReadTheBedrockOnes() {
        try (EventStreamDecoder decoder = new EventStreamDecoder(alloc)) {
            List<EventStreamMessage> got = decoder.decode(chunk(concat(stream())));

            EventStreamMessage all = got.get(1);
            assertThat(all.headers()).containsOnlyKeys("bool true", "bool false", "byte", "short", "int", "long", "bytes", "string",
                    "timestamp", "uuid");
            assertThat(all.headers().keySet()).containsExactly("bool true", "bool false", "byte", "short", "int", "long", "bytes",
                    "string", "timestamp", "uuid");
            assertThat(all.headers().get("byte")).isEqualTo((byte) -7);
            assertThat(all.headers().get("short")).isEqualTo((short) -12345);
            assertThat(all.headers().get("long")).isEqualTo(-4_000_000_000_000L);
            assertThat((byte[]) all.headers().get("bytes")).containsExactly(0, 1, 0xff, 42);
            assertThat(all.headers().get("timestamp")).isEqualTo(Instant.parse("2024-10-22T12:34:56.789Z"));
            assertThat(all.stringHeader("string")).isEqualTo("héllo ✓");

            EventStreamMessage delta = got.get(2);
            assertThat(delta.messageType()).isEqualTo("event");
            assertThat(delta.eventType()).isEqualTo("contentBlockDelta");
            assertThat(delta.contentType()).isEqualTo("application/json");
            assertThat(delta.payloadUtf8()).isEqualTo("{\"contentBlockIndex\":0,\"delta\":{\"text\":\"Hel\"}}");

            EventStreamMessage error = got.getLast();
            assertThat(error.messageType()).isEqualTo("exception");
            assertThat(error.exceptionType()).isEqualTo("throttlingException");
            assertThat(error.eventType()).isNull();
        }
    }

    /** Every two-piece cut of the whole stream, so every field of every frame gets split once. */
    @Test
    void splittingTheStreamAtEveryBytePositionChangesNothing() {
        List<EventStreamMessage> sent = stream();
        byte[] bytes = concat(sent);
        for (int cut = 0; cut <= bytes.length; cut++) {
            try (EventStreamDecoder decoder = new EventStreamDecoder(alloc)) {
                List<EventStreamMessage> got = new ArrayList<>(decoder.decode(chunk(bytes, 0, cut)));
                got.addAll(decoder.decode(chunk(bytes, cut, bytes.length)));
                assertThat(got).as("cut at %d", cut).containsExactlyElementsOf(sent);
                decoder.finish();
            }
        }
    }

    @Test
    void oneByteAtATimeAndRandomPieces() {
        List<EventStreamMessage> sent = stream();
        byte[] bytes = concat(sent);
        List<Integer> ends = boundaries(sent);
        try (EventStreamDecoder decoder = new EventStreamDecoder(alloc)) {
            List<EventStreamMessage> got = new ArrayList<>();
            for (int i = 0; i < bytes.length; i++) {
                got.addAll(decoder.decode(chunk(bytes, i, i + 1)));
                assertThat(decoder.hasPartialMessage()).as("after %d bytes", i + 1).isEqualTo(!ends.contains(i + 1));
            }
            assertThat(got).containsExactlyElementsOf(sent);
            decoder.finish();
        }
        Random random = new Random(42);
        for (int round = 0; round < 200; round++) {
            try (EventStreamDecoder decoder = new EventStreamDecoder(alloc)) {
                List<EventStreamMessage> got = new ArrayList<>();
                int at = 0;
                while (at < bytes.length) {
                    int next = Math.min(bytes.length, at + random.nextInt(80));
                    decoder.decode(chunk(bytes, at, next), got::add);
                    at = next;
                }
                assertThat(got).containsExactlyElementsOf(sent);
                decoder.finish();
            }
        }
    }

    static List<Integer> boundaries(List<EventStreamMessage> messages) {
        List<Integer> ends = new ArrayList<>();
        int at = 0;
        for (EventStreamMessage m : messages) ends.add(at += EventStreamEncoder.encode(m).length);
        return ends;
    }

    /**
     * Published frames: the "payload_one_str_header" and "all_headers" cases of the event stream
     * test vectors that AWS ships with its SDKs (awslabs aws-c-event-stream; aws-sdk-go keeps the
     * decoded form of all_headers under private/protocol/eventstream/testdata). The hex below was
     * taken from github.com/emblica/aws-event-stream-parser-rs, whose tests carry those vectors; its
     * CRCs were checked with zlib independently.
     */
    @Test
    void decodesPublishedFrames() {
        byte[] oneStringHeader = HexFormat.of().parseHex("0000003d0000002007fd83960c636f6e74656e742d747970650700106170706c6963"
                + "6174696f6e2f6a736f6e7b27666f6f273a27626172277d8d9c08b1");
        byte[] allHeaders = HexFormat.of().parseHex("000000cc000000af0fae64ca0a6576656e742d74797065040000a00c0c636f6e74656e74"
                + "2d747970650700106170706c69636174696f6e2f6a736f6e0a626f6f6c2066616c73650109626f6f6c207472756500046279746502cf"
                + "08627974652062756606001449276d2061206c6974746c6520746561706f74210974696d657374616d70080000000000845fed05696e"
                + "74313603002a05696e7436340500000000028757b20475756964090102030405060708090a0b0c0d0e0f107b27666f6f273a2762617227"
                + "7daba5f10c");
        try (EventStreamDecoder decoder = new EventStreamDecoder(alloc)) {
            ByteBuf both = alloc.heapBuffer();
            both.writeBytes(oneStringHeader).writeBytes(allHeaders);
            List<EventStreamMessage> got = decoder.decode(both);
            assertThat(got).hasSize(2);

            assertThat(got.get(0).headers()).containsExactly(Map.entry("content-type", "application/json"));
            assertThat(got.get(0).payloadUtf8()).isEqualTo("{'foo':'bar'}");

            EventStreamMessage m = got.get(1);
            assertThat(m.headers().keySet()).containsExactly("event-type", "content-type", "bool false", "bool true", "byte",
                    "byte buf", "timestamp", "int16", "int64", "uuid");
            assertThat(m.headers().get("event-type")).isEqualTo(40972);
            assertThat(m.headers().get("content-type")).isEqualTo("application/json");
            assertThat(m.headers().get("bool false")).isEqualTo(false);
            assertThat(m.headers().get("bool true")).isEqualTo(true);
            assertThat(m.headers().get("byte")).isEqualTo((byte) 0xcf);
            assertThat(new String((byte[]) m.headers().get("byte buf"), StandardCharsets.UTF_8)).isEqualTo("I'm a little teapot!");
            assertThat(m.headers().get("timestamp")).isEqualTo(Instant.ofEpochMilli(8675309));
            assertThat(m.headers().get("int16")).isEqualTo((short) 42);
            assertThat(m.headers().get("int64")).isEqualTo(42424242L);
            assertThat(m.headers().get("uuid")).isEqualTo(UUID.fromString("01020304-0506-0708-090a-0b0c0d0e0f10"));
            assertThat(m.payloadUtf8()).isEqualTo("{'foo':'bar'}");

            // The encoder reproduces the published bytes exactly, so it is right too.
            assertThat(EventStreamEncoder.encode(got.get(0))).isEqualTo(oneStringHeader);
            assertThat(EventStreamEncoder.encode(m)).isEqualTo(allHeaders);
        }
    }

    @Test
    void corruptedPreludeCrcFails() {
        byte[] bytes = concat(stream());
        bytes[9] ^= 0x01; // inside the first message's prelude CRC
        assertFails(bytes, "prelude CRC mismatch");
    }

    @Test
    void corruptedLengthIsCaughtByThePreludeCrc() {
        byte[] bytes = concat(stream());
        bytes[0] ^= (byte) 0x80; // total length becomes ~2 GB: must not wait for it
        assertFails(bytes, "prelude CRC mismatch");
    }

    @Test
    void corruptedMessageCrcOrPayloadFails() {
        byte[] crc = concat(stream());
        crc[crc.length - 1] ^= 0x01;
        assertFails(crc, "message CRC mismatch");

        byte[] payload = concat(stream());
        payload[payload.length - 6] ^= 0x20;
        assertFails(payload, "message CRC mismatch");
    }

    @Test
    void messagesBeforeTheCorruptionAreDeliveredThenTheDecoderRefusesInput() {
        List<EventStreamMessage> sent = stream();
        byte[] bytes = concat(sent);
        bytes[bytes.length - 1] ^= 0x01; // only the last message is bad
        List<EventStreamMessage> got = new ArrayList<>();
        EventStreamDecoder decoder = new EventStreamDecoder(alloc);
        assertThatThrownBy(() -> decoder.decode(chunk(bytes), got::add)).isInstanceOf(EventStreamException.class);
        assertThat(got).containsExactlyElementsOf(sent.subList(0, sent.size() - 1));

        ByteBuf more = chunk(EventStreamEncoder.encode(sent.getFirst()));
        assertThatThrownBy(() -> decoder.decode(more)).isInstanceOf(IllegalStateException.class);
        assertThat(more.refCnt()).isZero();
        decoder.close();
    }

    @Test
    void totalLengthBelowTheMinimumFails() {
        assertFails(prelude(15, 0), "length 15 is outside 16..");
        assertFails(prelude(0, 0), "length 0 is outside 16..");
    }

    @Test
    void headersLongerThanTheMessageFail() {
        assertFails(prelude(32, 17), "headers length 17 does not fit");
    }

    /** The prelude alone is enough to refuse an oversized message: nothing is buffered for it. */
    @Test
    void totalLengthOverTheMaximumFailsAtThePrelude() {
        try (EventStreamDecoder decoder = new EventStreamDecoder(alloc, 1024)) {
            assertThatThrownBy(() -> decoder.decode(chunk(prelude(1025, 0))))
                    .isInstanceOf(EventStreamException.class).hasMessageContaining("length 1025 is outside 16..1024");
        }
        try (EventStreamDecoder decoder = new EventStreamDecoder(alloc)) {
            assertThatThrownBy(() -> decoder.decode(chunk(prelude(16 * 1024 * 1024 + 1, 0))))
                    .isInstanceOf(EventStreamException.class).hasMessageContaining("is outside 16..16777216");
        }
        // Exactly the maximum is fine.
        EventStreamMessage big = new EventStreamMessage(Map.of(), new byte[1024 - 16]);
        try (EventStreamDecoder decoder = new EventStreamDecoder(alloc, 1024)) {
            assertThat(decoder.decode(chunk(EventStreamEncoder.encode(big)))).containsExactly(big);
        }
    }

    @Test
    void headerRunningPastItsSectionFails() {
        // A string header whose declared length (0x00ff) exceeds the 8-byte headers section; the
        // CRCs are right, so only the bounds check can catch it.
        byte[] headers = {1, 'a', 7, 0x00, (byte) 0xff, 'x', 'y', 'z'};
        assertFails(frame(headers, new byte[0]), "runs past the headers section");
        assertFails(frame(new byte[] {1, 'a', 42}, new byte[0]), "unknown value type 42");
    }

    @Test
    void aStreamEndingInsideAMessageIsReportedByFinish() {
        byte[] bytes = EventStreamEncoder.encode(stream().getFirst());
        EventStreamDecoder decoder = new EventStreamDecoder(alloc);
        assertThat(decoder.decode(chunk(bytes, 0, bytes.length - 3))).isEmpty();
        assertThat(decoder.hasPartialMessage()).isTrue();
        assertThatThrownBy(decoder::finish).isInstanceOf(EventStreamException.class).hasMessageContaining("(" + (bytes.length - 3) + " bytes left over)");
        decoder.close(); // idempotent
    }

    @Test
    void closingMidMessageReleasesTheCarriedBytes() {
        byte[] bytes = concat(stream());
        EventStreamDecoder decoder = new EventStreamDecoder(alloc);
        decoder.decode(chunk(bytes, 0, 100));
        decoder.close();
        ByteBuf late = chunk(bytes, 100, bytes.length);
        assertThatThrownBy(() -> decoder.decode(late)).isInstanceOf(IllegalStateException.class);
        assertThat(late.refCnt()).isZero();
    }

    @Test
    void encoderRefusesWhatTheWireCannotCarry() {
        assertThatThrownBy(() -> EventStreamEncoder.encode(new EventStreamMessage(Map.of("x", 1.5), new byte[0])))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("unsupported type");
        assertThatThrownBy(() -> EventStreamEncoder.encode(new EventStreamMessage(Map.of("x".repeat(256), 1), new byte[0])))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> EventStreamEncoder.encode(new EventStreamMessage(Map.of("x", "y".repeat(65536)), new byte[0])))
                .isInstanceOf(IllegalArgumentException.class);
        ByteBuf ok = EventStreamEncoder.encode(alloc, EventStreamEncoder.event("messageStop", "{}"));
        assertThat(ok.readableBytes()).isEqualTo(EventStreamEncoder.encode(EventStreamEncoder.event("messageStop", "{}")).length);
        ok.release();
    }

    void assertFails(byte[] bytes, String message) {
        EventStreamDecoder decoder = new EventStreamDecoder(alloc);
        ByteBuf in = chunk(bytes);
        assertThatThrownBy(() -> decoder.decode(in)).isInstanceOf(EventStreamException.class).hasMessageContaining(message);
        assertThat(in.refCnt()).isZero();
        assertThat(decoder.hasPartialMessage()).isFalse();
        decoder.close();
    }

    /** A 12-byte prelude with the given lengths and a correct CRC. */
    static byte[] prelude(long totalLength, long headersLength) {
        byte[] b = new byte[12];
        putInt(b, 0, totalLength);
        putInt(b, 4, headersLength);
        putInt(b, 8, crc(b, 8));
        return b;
    }

    /** A whole frame with raw header bytes and correct CRCs, for malformed-header cases. */
    static byte[] frame(byte[] headers, byte[] payload) {
        byte[] b = new byte[16 + headers.length + payload.length];
        putInt(b, 0, b.length);
        putInt(b, 4, headers.length);
        putInt(b, 8, crc(b, 8));
        System.arraycopy(headers, 0, b, 12, headers.length);
        System.arraycopy(payload, 0, b, 12 + headers.length, payload.length);
        putInt(b, b.length - 4, crc(b, b.length - 4));
        return b;
    }

    static long crc(byte[] b, int length) {
        CRC32 c = new CRC32();
        c.update(b, 0, length);
        return c.getValue();
    }

    static void putInt(byte[] b, int at, long v) {
        b[at] = (byte) (v >>> 24);
        b[at + 1] = (byte) (v >>> 16);
        b[at + 2] = (byte) (v >>> 8);
        b[at + 3] = (byte) v;
    }
}
