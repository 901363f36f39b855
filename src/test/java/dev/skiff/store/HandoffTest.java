package dev.skiff.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;
import org.junit.jupiter.api.Test;

class HandoffTest {
    /** An event loop stand-in: counts hand-overs, runs them when told. */
    static final class Loop implements Executor {
        final List<Runnable> handed = new ArrayList<>();

        @Override
        public void execute(Runnable r) {
            handed.add(r);
        }

        void runAll() {
            handed.forEach(Runnable::run);
        }
    }

    @Test
    void aBatchHandsEachLoopOneTaskThatRunsItsTasksInOrder() {
        Loop a = new Loop(), b = new Loop();
        List<String> ran = new ArrayList<>();
        Handoff.batch(() -> {
            Handoff.execute(a, () -> ran.add("a1"));
            Handoff.execute(b, () -> ran.add("b1"));
            Handoff.execute(a, () -> ran.add("a2"));
            Handoff.execute(a, () -> ran.add("a3"));
            assertThat(a.handed).isEmpty(); // nothing is handed over before the batch ends
        });
        assertThat(a.handed).hasSize(1);
        assertThat(b.handed).hasSize(1);
        a.runAll();
        b.runAll();
        assertThat(ran).containsExactly("a1", "a2", "a3", "b1");
    }

    @Test
    void outsideABatchATaskIsHandedOverAtOnce() {
        Loop a = new Loop();
        Handoff.execute(a, () -> {});
        Handoff.execute(a, () -> {});
        assertThat(a.handed).hasSize(2);
    }

    @Test
    void aFailingTaskDoesNotKeepTheOthersOfItsBatchWaiting() {
        Loop a = new Loop();
        List<String> ran = new ArrayList<>();
        Handoff.batch(() -> {
            Handoff.execute(a, () -> { throw new IllegalStateException("broken on purpose"); });
            Handoff.execute(a, () -> ran.add("after"));
        });
        a.runAll();
        assertThat(ran).containsExactly("after");
    }

    @Test
    void completionsThatThrowStillHandOverWhatWasGathered() {
        Loop a = new Loop();
        try {
            Handoff.batch(() -> {
                Handoff.execute(a, () -> {});
                throw new IllegalStateException("broken on purpose");
            });
        } catch (IllegalStateException expected) {
            // the batch's own failure propagates
        }
        assertThat(a.handed).hasSize(1);
        Handoff.execute(a, () -> {}); // and the thread is no longer gathering
        assertThat(a.handed).hasSize(2);
    }
}
