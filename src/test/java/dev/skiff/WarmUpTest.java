package dev.skiff;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertFalse;

import org.junit.jupiter.api.Test;

class WarmUpTest {
    @Test
    void itsOwnRequestScansAndEveryStepRuns() {
        // run() throws when the sample request no longer scans or a metrics key's record methods fail.
        assertDoesNotThrow(WarmUp::run);
    }

    @Test
    void startsOncePerProcess() {
        WarmUp.start(); // by this call or by an earlier Skiff.start in this JVM
        assertFalse(WarmUp.start(), "a second warm-up thread was started");
    }
}
