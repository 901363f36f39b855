package dev.skiff.observe;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;

/** A capture keeps at most its cap, and at most what the heap budget has left; released, the budget is whole again. */
class CappedTest {
    @Test
    void keepsTheCapAndCountsTheWhole() {
        Capped c = new Capped(10);
        c.add(Unpooled.wrappedBuffer("hello ".getBytes()));
        c.add("world, and more".getBytes());
        assertThat(c.text()).isEqualTo("hello worl");
        assertThat(c.total()).isEqualTo(21);
        assertThat(c.truncated()).isTrue();
        c.release();
    }

    @Test
    void stopsWhenTheBudgetIsSpentAndGivesItBack() {
        long before = CaptureBudget.held();
        long hog = CaptureBudget.LIMIT - before - 300;
        assertThat(CaptureBudget.tryReserve(hog)).isTrue();
        try {
            Capped c = new Capped(64 << 10);
            c.add(new byte[200]);
            c.add(new byte[5000]); // no room for it: the capture stops, the size is still counted
            assertThat(c.length()).isLessThanOrEqualTo(300);
            assertThat(c.total()).isEqualTo(5200);
            assertThat(c.truncated()).isTrue();
            c.release();
        } finally {
            CaptureBudget.release(hog);
        }
        assertThat(CaptureBudget.held()).isLessThanOrEqualTo(before);
    }

    @Test
    void aSameBodyIsSharedNotCopiedAndEachCopiesBeforeItGrows() {
        long before = CaptureBudget.held();
        Capped first = new Capped(1024);
        first.add(Unpooled.wrappedBuffer("{\"a\":1}".getBytes()));
        long one = CaptureBudget.held() - before;
        assertThat(Capped.shareIfSame(first, Unpooled.wrappedBuffer("{\"a\":2}".getBytes()))).isNull();
        assertThat(Capped.shareIfSame(first, Unpooled.wrappedBuffer("{\"a\":1} ".getBytes()))).isNull();
        Capped second = Capped.shareIfSame(first, Unpooled.wrappedBuffer("xx{\"a\":1}".getBytes()).skipBytes(2));
        assertThat(second).isNotNull();
        assertThat(CaptureBudget.held() - before).isEqualTo(one); // no second array
        assertThat(second.sameAs(first)).isTrue();
        assertThat(second.text()).isEqualTo("{\"a\":1}");
        second.add(" more".getBytes());
        first.add("!".getBytes());
        assertThat(second.text()).isEqualTo("{\"a\":1} more");
        assertThat(first.text()).isEqualTo("{\"a\":1}!");
        assertThat(second.sameAs(first)).isFalse();
        first.release();
        second.release();
        assertThat(CaptureBudget.held()).isEqualTo(before);
    }

    @Test
    void comparesHeapAndDirectBuffersByteForByte() {
        byte[] body = new byte[37];
        for (int i = 0; i < body.length; i++) body[i] = (byte) (i * 7 + 3);
        for (boolean direct : new boolean[] {false, true}) {
            for (int n : new int[] {1, 7, 8, 9, 16, 37}) {
                io.netty.buffer.ByteBuf b = direct ? Unpooled.directBuffer(n + 3) : Unpooled.buffer(n + 3);
                b.writeBytes(new byte[] {9, 9, 9}).writeBytes(body, 0, n).skipBytes(3);
                assertThat(Capped.holds(body, n, b)).as("n=%d direct=%s", n, direct).isTrue();
                for (int at = 0; at < n; at++) { // a difference anywhere, in the eight-byte steps or the tail
                    b.setByte(3 + at, body[at] ^ 1);
                    assertThat(Capped.holds(body, n, b)).as("n=%d at=%d direct=%s", n, at, direct).isFalse();
                    b.setByte(3 + at, body[at]);
                }
                b.release();
            }
        }
    }
}
