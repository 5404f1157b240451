package dev.embedpipe.progress;

import dev.embedpipe.embed.RequestStats;
import org.apache.spark.util.AccumulatorV2;

import java.io.IOException;
import java.io.ObjectOutputStream;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.function.Supplier;

/**
 * The live counters behind the progress line, one accumulator for the whole job. Tasks bump them per record; the
 * executors' heartbeats carry a running task's current values to the driver, so progress moves during a long
 * single partition, not only when tasks end. For display only: the manifest's counts come from the tables.
 */
public final class ProgressCounters extends AccumulatorV2<long[], long[]> {
    /** What is counted. The last three come from the task's request statistics while it runs. */
    public enum Counter {
        DOCUMENTS, REJECTED, DOCUMENTS_CHUNKED, CHUNKS, CHUNK_TOKENS, CACHED, TO_EMBED, TO_EMBED_TOKENS,
        EMBEDDED, EMBEDDED_TOKENS, ERRORS, REQUESTS, IN_FLIGHT, THROTTLED_NANOS
    }

    static final int SIZE = Counter.values().length;

    private AtomicLongArray counts = new AtomicLongArray(SIZE);
    /** The running task's embedder statistics, read live by the heartbeat thread; never serialized as such. */
    private transient volatile Supplier<RequestStats> live;
    /** {@link #live} as it was when this copy was serialized into a heartbeat or a task result. */
    private long[] liveAtSend = new long[3];

    public void add(Counter counter, long n) {
        counts.addAndGet(counter.ordinal(), n);
    }

    /** Reports {@code stats} (requests, in flight, throttled time) as part of this task's values. */
    public void attach(Supplier<RequestStats> stats) {
        live = stats;
    }

    public long get(long[] values, Counter counter) {
        return values[counter.ordinal()];
    }

    @Override
    public boolean isZero() {
        for (int i = 0; i < SIZE; i++) {
            if (counts.get(i) != 0) {
                return false;
            }
        }
        return live == null && liveAtSend[0] == 0 && liveAtSend[1] == 0 && liveAtSend[2] == 0;
    }

    @Override
    public AccumulatorV2<long[], long[]> copy() {
        ProgressCounters copy = new ProgressCounters();
        copy.add(value());
        return copy;
    }

    @Override
    public void reset() {
        counts = new AtomicLongArray(SIZE);
        live = null;
        liveAtSend = new long[3];
    }

    @Override
    public void add(long[] values) {
        for (int i = 0; i < SIZE; i++) {
            counts.addAndGet(i, values[i]);
        }
    }

    @Override
    public void merge(AccumulatorV2<long[], long[]> other) {
        add(other.value());
    }

    @Override
    public long[] value() {
        long[] values = new long[SIZE];
        for (int i = 0; i < SIZE; i++) {
            values[i] = counts.get(i);
        }
        long[] fromStats = liveStats();
        values[Counter.REQUESTS.ordinal()] += fromStats[0];
        values[Counter.IN_FLIGHT.ordinal()] += fromStats[1];
        values[Counter.THROTTLED_NANOS.ordinal()] += fromStats[2];
        return values;
    }

    private long[] liveStats() {
        Supplier<RequestStats> stats = live;
        if (stats == null) {
            return liveAtSend;
        }
        RequestStats now = stats.get();
        return new long[] {now.requests(), now.inFlight(), now.throttledNanos()};
    }

    private void writeObject(ObjectOutputStream out) throws IOException {
        liveAtSend = liveStats();
        out.defaultWriteObject();
    }
}
