package dev.skiff.dialect;

import static org.assertj.core.api.Assertions.assertThat;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;

class IdsTest {
    @Test
    void hexIdsAre128BitsOfLowercaseHexAfterTheirPrefix() {
        for (int i = 0; i < 1000; i++) {
            assertThat(Ids.hex("resp_")).matches("resp_[0-9a-f]{32}");
        }
    }

    @Test
    void anOrderedCompactIdSaysWhenItWasMadeAndOthersSayNothing() {
        long before = System.currentTimeMillis();
        long made = Ids.orderedCompactMillis(Ids.orderedCompact("req_"), "req_");
        assertThat(made).isBetween(before, System.currentTimeMillis());
        for (String other : new String[] {"req-1", "req_" + "0".repeat(31), "req_" + "0".repeat(31) + "G", "abc_" + "0".repeat(32), "", null}) {
            assertThat(Ids.orderedCompactMillis(other, "req_")).as(String.valueOf(other)).isEqualTo(-1);
        }
    }

    @Test
    void alphanumericIdsAre22CharactersOfBase62() {
        for (int i = 0; i < 1000; i++) {
            String id = Ids.alphanumeric("toolu_");
            assertThat(id).matches("toolu_[0-9A-Za-z]{22}");
            // 22 base-62 digits hold 128 bits and a little more: the value never exceeds 2^128.
            assertThat(base62(id.substring(6))).isLessThan(BigInteger.ONE.shiftLeft(128));
        }
    }

    @Test
    void idsAreDistinctAcrossThreadsAndBufferRefills() throws Exception {
        Set<String> seen = ConcurrentHashMap.newKeySet();
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            threads.add(Thread.ofPlatform().start(() -> {
                for (int i = 0; i < 5000; i++) seen.add(Ids.hex("x_"));
            }));
        }
        for (Thread t : threads) t.join();
        assertThat(seen).hasSize(20_000);
    }

    /**
     * What made the old ids guessable: consecutive values from one source that follow from each other.
     * Here no two consecutive ids share more than chance allows at the front, differ by a small step, or
     * keep the bits of one another.
     */
    @Test
    void consecutiveIdsBearNoPredictableRelation() {
        String previous = Ids.hex("resp_");
        int longestCommonPrefix = 0;
        Set<BigInteger> differences = new HashSet<>();
        int[] bitCounts = new int[128];
        int n = 4000;
        for (int i = 0; i < n; i++) {
            String next = Ids.hex("resp_");
            int common = 0;
            while (common < 32 && next.charAt(5 + common) == previous.charAt(5 + common)) common++;
            longestCommonPrefix = Math.max(longestCommonPrefix, common);
            BigInteger a = new BigInteger(previous.substring(5), 16), b = new BigInteger(next.substring(5), 16);
            BigInteger diff = b.subtract(a);
            assertThat(diff.abs()).as("not sequential").isGreaterThan(BigInteger.valueOf(1L << 32));
            differences.add(diff);
            BigInteger x = a.xor(b);
            for (int bit = 0; bit < 128; bit++) if (x.testBit(bit)) bitCounts[bit]++;
            previous = next;
        }
        // Hex digits agree by chance with p = 1/16: a run of 8 in 4000 tries is about a one-in-a-million event.
        assertThat(longestCommonPrefix).isLessThan(8);
        assertThat(differences).as("no constant step between ids").hasSize(n);
        // Each bit flips between consecutive ids about half the time (n/2 +- 5 standard deviations).
        double sd = Math.sqrt(n / 4.0);
        for (int bit = 0; bit < 128; bit++) {
            assertThat((double) bitCounts[bit]).as("bit " + bit).isBetween(n / 2.0 - 5 * sd, n / 2.0 + 5 * sd);
        }
    }

    @Test
    void orderedIdsAreTheTimeThen128RandomBitsAndSortInOrderOfCreation() throws Exception {
        assertTimeThenRandom(() -> Ids.ordered("resp_"), "resp_", 44);
    }

    @Test
    void compactOrderedIdsAreTheTimeThen80RandomBitsIn32HexDigits() throws Exception {
        assertTimeThenRandom(() -> Ids.orderedCompact("req_"), "req_", 32);
    }

    /** {@code prefix}, 12 hex digits of the creation millisecond, then random hex: {@code digits} in all. */
    private static void assertTimeThenRandom(java.util.function.Supplier<String> make, String prefix, int digits) throws Exception {
        long before = System.currentTimeMillis();
        String first = make.get();
        Thread.sleep(2);
        String second = make.get();
        long after = System.currentTimeMillis();
        int time = prefix.length() + 12;
        assertThat(first).matches(prefix + "[0-9a-f]{" + digits + "}");
        assertThat(Long.parseLong(first.substring(prefix.length(), time), 16)).isBetween(before, after);
        assertThat(first.compareTo(second)).isNegative();
        // the random part is as unrelated as hex ids are
        assertThat(first.substring(time)).isNotEqualTo(second.substring(time));
    }

    /** Prints what an id costs on this machine (the figure the README gives); asserts only a generous bound. */
    @Test
    void idsAreCheap() {
        for (int i = 0; i < 200_000; i++) Ids.hex("resp_");
        int n = 1_000_000;
        long start = System.nanoTime();
        int sink = 0;
        for (int i = 0; i < n; i++) sink += Ids.hex("resp_").length();
        double nsPerId = (System.nanoTime() - start) / (double) n;
        System.out.printf("Ids.hex: %.0f ns per id (%d chars)%n", nsPerId, sink / n);
        assertThat(nsPerId).isLessThan(5_000);
    }

    private static BigInteger base62(String s) {
        String digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        BigInteger v = BigInteger.ZERO;
        for (char c : s.toCharArray()) v = v.multiply(BigInteger.valueOf(62)).add(BigInteger.valueOf(digits.indexOf(c)));
        return v;
    }
}
