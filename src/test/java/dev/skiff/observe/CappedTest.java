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
}
