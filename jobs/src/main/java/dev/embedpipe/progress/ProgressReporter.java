package dev.embedpipe.progress;

import dev.embedpipe.progress.ProgressCounters;
import dev.embedpipe.progress.ProgressLine;
import org.apache.spark.SparkContext;
import org.apache.spark.TaskEndReason;
import org.apache.spark.scheduler.AccumulableInfo;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerExecutorMetricsUpdate;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.Success$;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.jdk.javaapi.CollectionConverters;

import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Prints a progress line at a steady interval while a run goes on (logger {@code dev.embedpipe.progress}).
 * Finished tasks count with their final values; running tasks with the values their executor's last heartbeat
 * carried, so the line moves inside a long partition (heartbeats come every {@code spark.executor.heartbeatInterval},
 * which the job shortens to the progress interval).
 */
public final class ProgressReporter extends SparkListener implements AutoCloseable {
    static final Logger LOG = LoggerFactory.getLogger("dev.embedpipe.progress");

    private final ProgressCounters counters;
    private final SparkContext sc;
    private final long startNanos = System.nanoTime();
    private final long[] finished = new long[ProgressCounters.SIZE];
    private final Map<Long, long[]> running = new HashMap<>();
    private final Set<Long> ended = new HashSet<>();
    private final ScheduledExecutorService timer;
    private volatile String phase = "read";
    private volatile long phaseStartNanos = startNanos;
    private volatile long[] atPhaseStart = new long[ProgressCounters.SIZE];
    private volatile long documentsTotal = -1;

    /** Registers the counters and, when {@code intervalSeconds > 0}, starts printing. */
    public ProgressReporter(SparkContext sc, int intervalSeconds) {
        this.sc = sc;
        this.counters = new ProgressCounters();
        sc.register(counters, "embedpipe.progress");
        sc.addSparkListener(this);
        if (intervalSeconds > 0) {
            timer = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "embedpipe-progress");
                t.setDaemon(true);
                return t;
            });
            timer.scheduleAtFixedRate(this::print, intervalSeconds, intervalSeconds, TimeUnit.SECONDS);
        } else {
            timer = null;
        }
    }

    private void print() {
        try {
            LOG.info(line().format());
        } catch (RuntimeException e) {
            // a failed line must not end the timer (a scheduled task that throws is never run again)
            LOG.warn("embedpipe: progress line failed: {}", e.toString());
        }
    }

    public ProgressCounters counters() {
        return counters;
    }

    /** The run moved on to {@code next}; its rate and time left are measured from here. */
    public void phase(String next) {
        atPhaseStart = values();
        phaseStartNanos = System.nanoTime();
        phase = next;
    }

    /**
     * Counts something the driver learned itself (what the cache holds, what is left to embed): the line shows the
     * tasks' values, which a driver-side add to the accumulator would never reach.
     */
    public synchronized void countOnDriver(ProgressCounters.Counter counter, long n) {
        finished[counter.ordinal()] += n;
    }

    public void documentsTotal(long documents) {
        documentsTotal = documents;
    }

    public ProgressLine line() {
        long now = System.nanoTime();
        return new ProgressLine(phase, Duration.ofNanos(now - startNanos), Duration.ofNanos(now - phaseStartNanos), values(),
                atPhaseStart, documentsTotal);
    }

    /** Finished tasks' values plus the running tasks' last reported ones. */
    public synchronized long[] values() {
        long[] total = finished.clone();
        for (long[] partial : running.values()) {
            for (int i = 0; i < total.length; i++) {
                total[i] += partial[i];
            }
        }
        return total;
    }

    @Override
    public synchronized void onExecutorMetricsUpdate(SparkListenerExecutorMetricsUpdate update) {
        for (var task : CollectionConverters.asJava(update.accumUpdates())) {
            long taskId = (Long) task._1();
            if (ended.contains(taskId)) {
                continue; // a heartbeat sent before the task ended, delivered after
            }
            long[] values = ours(task._4());
            if (values != null) {
                running.put(taskId, values);
            }
        }
    }

    @Override
    public synchronized void onTaskEnd(SparkListenerTaskEnd end) {
        long taskId = end.taskInfo().taskId();
        ended.add(taskId);
        running.remove(taskId);
        TaskEndReason reason = end.reason();
        if (reason == Success$.MODULE$) {
            long[] values = ours(end.taskInfo().accumulables());
            if (values != null) {
                for (int i = 0; i < finished.length; i++) {
                    finished[i] += values[i];
                }
            }
        }
    }

    /** This task's values of our accumulator among its updates, or null. */
    private long[] ours(scala.collection.Iterable<AccumulableInfo> infos) {
        for (AccumulableInfo info : CollectionConverters.asJava(infos)) {
            if (info.id() == counters.id() && info.update().isDefined() && info.update().get() instanceof long[] values) {
                return values;
            }
        }
        return null;
    }

    @Override
    public void close() {
        if (timer != null) {
            timer.shutdownNow();
        }
        sc.removeSparkListener(this);
    }
}
