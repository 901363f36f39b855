package dev.skiff;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** How often expired stored responses are looked for: a quarter of their lifetime, within [1 s, 1 h]. */
class SweepIntervalTest {
    @Test
    void aQuarterOfTheLifetimeBetweenOneSecondAndOneHour() {
        assertThat(Skiff.sweepInterval(Duration.ofMinutes(40))).isEqualTo(Duration.ofMinutes(10));
        assertThat(Skiff.sweepInterval(Duration.ofMillis(4001))).isEqualTo(Duration.ofNanos(1_000_250_000));
        assertThat(Skiff.sweepInterval(Duration.ofHours(4))).isEqualTo(Duration.ofHours(1));
        assertThat(Skiff.sweepInterval(Duration.ofDays(30))).isEqualTo(Duration.ofHours(1));
        assertThat(Skiff.sweepInterval(Duration.ofSeconds(Long.MAX_VALUE))).isEqualTo(Duration.ofHours(1));
        assertThat(Skiff.sweepInterval(Duration.ofSeconds(2))).isEqualTo(Duration.ofSeconds(1));
        assertThat(Skiff.sweepInterval(Duration.ZERO)).isEqualTo(Duration.ofSeconds(1));
    }
}
