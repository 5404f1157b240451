package dev.embedpipe.run;

import org.apache.spark.SparkExecutorInfo;
import org.apache.spark.SparkStatusTracker;
import org.apache.spark.sql.SparkSession;

import java.time.Duration;

/**
 * Stops a failed run's tasks before its staging folder is removed: a cancelled task keeps running until it next
 * checks its kill flag, and one still writing would put files back into the staging folder after the abort.
 */
public final class RunningTasks {
    private static final Duration PATIENCE = Duration.ofSeconds(60);

    private RunningTasks() {}

    /** Cancels every job and waits (at most a minute) until no task runs anywhere. */
    static void cancelAndWait(SparkSession spark) {
        try {
            spark.sparkContext().cancelAllJobs();
            SparkStatusTracker tracker = spark.sparkContext().statusTracker();
            long until = System.nanoTime() + PATIENCE.toNanos();
            while (System.nanoTime() < until && running(tracker) > 0) {
                Thread.sleep(100);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            // the context is already stopping: nothing left to wait for
        }
    }

    private static int running(SparkStatusTracker tracker) {
        int tasks = tracker.getActiveStageIds().length;
        for (SparkExecutorInfo executor : tracker.getExecutorInfos()) {
            tasks += executor.numRunningTasks();
        }
        return tasks;
    }
}
