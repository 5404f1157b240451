package dev.embedpipe.job;

import org.apache.spark.TaskContext;

import java.io.Serializable;
import java.util.Iterator;

/**
 * Test hook: with {@code spark.embedpipe.test.failFirstAttempt=read|embed}, the first attempt of every task of that
 * stage throws after emitting a few records, so tests can show that retried tasks neither drop nor duplicate
 * rows. Off (and free) unless that Spark setting is present; users never set it.
 */
final class FaultInjection implements Serializable {
    static final String CONF_KEY = "spark.embedpipe.test.failFirstAttempt";
    private static final int RECORDS_BEFORE_FAILURE = 3;
    private static final java.util.concurrent.atomic.AtomicInteger INJECTED = new java.util.concurrent.atomic.AtomicInteger();

    private final String stage;

    FaultInjection(String stage) {
        this.stage = stage == null ? "" : stage;
    }

    /** Failures injected in this JVM so far (local mode: tests check that the hook fired). */
    static int injectedInThisJvm() {
        return INJECTED.get();
    }

    <T> Iterator<T> wrap(String thisStage, Iterator<T> records) {
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
                            + " task " + task.partitionId() + " (" + CONF_KEY + ")");
                }
                return records.next();
            }
        };
    }
}
