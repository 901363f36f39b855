package dev.skiff.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class RequestIdsTest {
    @Test
    void generatedIdsAreReqThe48BitMillisecondsThen80RandomBits() {
        long before = System.currentTimeMillis();
        String id = RequestIds.generate();
        long after = System.currentTimeMillis();
        assertThat(id).matches("req_[0-9a-f]{32}");
        assertThat(Long.parseLong(id.substring(4, 16), 16)).isBetween(before, after);
    }

    /** The audit store's request_id index receives them in order: what keeps its inserts on the last pages. */
    @Test
    void idsSortByTimeAcrossMilliseconds() throws Exception {
        String previous = RequestIds.generate();
        for (int i = 0; i < 5; i++) {
            Thread.sleep(2);
            String next = RequestIds.generate();
            assertThat(next).isGreaterThan(previous);
            previous = next;
        }
    }

    @Test
    void idsOfTheSameMillisecondDifferInTheirRandomTail() {
        Set<String> tails = new HashSet<>();
        Set<String> ids = new HashSet<>();
        int sameMs = 0;
        for (int i = 0; i < 10_000; i++) {
            String a = RequestIds.generate(), b = RequestIds.generate();
            if (a.regionMatches(0, b, 0, 16)) sameMs++;
            ids.add(a);
            ids.add(b);
            tails.add(a.substring(16));
            tails.add(b.substring(16));
        }
        assertThat(sameMs).as("most pairs fall in one millisecond").isGreaterThan(0);
        assertThat(ids).hasSize(20_000);
        assertThat(tails).as("the 80 random bits alone are distinct").hasSize(20_000);
    }

    @Test
    void aSaneClientIdIsKeptAndAnyOtherReplaced() {
        assertThat(RequestIds.accept("client-42")).isEqualTo("client-42");
        assertThat(RequestIds.accept("has space")).matches("req_[0-9a-f]{32}");
        assertThat(RequestIds.accept(null)).matches("req_[0-9a-f]{32}");
        assertThat(RequestIds.accept("x".repeat(129))).matches("req_[0-9a-f]{32}");
    }
}
