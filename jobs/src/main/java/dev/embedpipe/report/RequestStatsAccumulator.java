package dev.embedpipe.report;

import dev.embedpipe.embed.RequestStats;
import org.apache.spark.util.AccumulatorV2;

/**
 * Sums the tasks' request statistics on the driver. Spark merges the updates of successful task attempts only,
 * so requests made by attempts that later failed are not counted here (the provider's bill may be higher).
 */
public final class RequestStatsAccumulator extends AccumulatorV2<RequestStats, RequestStats> {
    private volatile RequestStats stats = RequestStats.EMPTY;

    @Override
    public boolean isZero() {
        return stats.isEmpty();
    }

    @Override
    public AccumulatorV2<RequestStats, RequestStats> copy() {
        RequestStatsAccumulator copy = new RequestStatsAccumulator();
        copy.stats = stats;
        return copy;
    }

    @Override
    public void reset() {
        stats = RequestStats.EMPTY;
    }

    @Override
    public synchronized void add(RequestStats v) {
        stats = stats.plus(v);
    }

    @Override
    public synchronized void merge(AccumulatorV2<RequestStats, RequestStats> other) {
        stats = stats.plus(other.value());
    }

    @Override
    public RequestStats value() {
        return stats;
    }
}
