package dev.skiff.store;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;

/**
 * Hands work from the store's thread back to event loops. A committed batch completes one future
 * per saved response, and each completion used to wake its event loop on its own (an eventfd write
 * from this thread, a return from epoll_wait on the loop's): while {@link #batch} runs, the tasks
 * are gathered per loop instead, and each loop is handed one task that runs them all, in order.
 * Outside a batch (any other thread, or a future completed already) a task is handed over at once.
 */
public final class Handoff {
    private static final ThreadLocal<Map<Executor, List<Runnable>>> GATHERING = new ThreadLocal<>();

    private Handoff() {}

    /** Runs {@code task} on {@code loop}: handed over now, or when the batch this thread is completing ends. */
    public static void execute(Executor loop, Runnable task) {
        Map<Executor, List<Runnable>> gathering = GATHERING.get();
        if (gathering == null) {
            loop.execute(task);
            return;
        }
        gathering.computeIfAbsent(loop, l -> new ArrayList<>(4)).add(task);
    }

    /** Runs {@code completions}, then hands each loop the tasks they gave it through {@link #execute}, at once. */
    static void batch(Runnable completions) {
        if (GATHERING.get() != null) { // already inside one: its end hands these over too
            completions.run();
            return;
        }
        Map<Executor, List<Runnable>> gathering = new IdentityHashMap<>(4);
        GATHERING.set(gathering);
        try {
            completions.run();
        } finally {
            GATHERING.remove();
            gathering.forEach((loop, tasks) -> loop.execute(tasks.size() == 1 ? tasks.getFirst() : () -> runAll(tasks)));
        }
    }

    private static void runAll(List<Runnable> tasks) {
        for (Runnable task : tasks) {
            try {
                task.run();
            } catch (Throwable t) { // one answer's failure must not keep the others of its batch waiting
                System.err.println("skiff: a task handed back by the response store failed: " + t);
                t.printStackTrace();
            }
        }
    }
}
