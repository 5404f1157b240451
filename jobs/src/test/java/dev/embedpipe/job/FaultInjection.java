package dev.embedpipe.job;

import dev.embedpipe.run.TaskHook;
import org.apache.spark.TaskContext;

import java.util.Iterator;

/**
 * Test hook: the first attempt of every task of one step ({@code read} or {@code embed}) throws after emitting a few
 * records, so tests can show that retried tasks neither drop nor duplicate rows. {@link #failFirstAttempts} plugs it
 * in through the job's {@link TaskHook} extension point.
 */
public final class FaultInjection implements TaskHook {
    /** Which step fails: read on the driver when the run builds its hook. */
    static final String STAGE_KEY = "embedpipe.test.failFirstAttempt";
    private static final int RECORDS_BEFORE_FAILURE = 3;
    private static final java.util.concurrent.atomic.AtomicInteger INJECTED = new java.util.concurrent.atomic.AtomicInteger();

    private final String stage;

    public FaultInjection() {
        this.stage = System.getProperty(STAGE_KEY, "");
    }

    /** Runs started after this (in this JVM) fail the first attempt of each task of {@code stage}. */
    static void failFirstAttempts(String stage) {
        System.setProperty(STAGE_KEY, stage);
        System.setProperty(CONF_KEY, FaultInjection.class.getName());
    }

    /** Back to runs without failures. */
    static void off() {
        System.clearProperty(CONF_KEY);
        System.clearProperty(STAGE_KEY);
    }

    /** Failures injected in this JVM so far (local mode: tests check that the hook fired). */
    static int injectedInThisJvm() {
        return INJECTED.get();
    }

    @Override
    public <T> Iterator<T> wrap(String thisStage, Iterator<T> records) {
        TaskContext task = TaskContext.get();
        if (!stage.equals(thisStage) || task == null || task.attemptNumber() > 0) {
            return records;
        }
        return new Iterator<>() {
            private int emitted;

            @Override
            public boolean hasNext() {
                return records.hasNext();
            }

            @Override
            public T next() {
                if (emitted++ == RECORDS_BEFORE_FAILURE) {
                    INJECTED.incrementAndGet();
                    throw new IllegalStateException("injected failure in the first attempt of " + thisStage
                            + " task " + task.partitionId() + " (" + STAGE_KEY + ")");
                }
                return records.next();
            }
        };
    }
}
