package dev.embedpipe.report;

import dev.embedpipe.embed.RequestStats;
import org.apache.spark.util.AccumulatorV2;

/**
 * Sums the tasks' request statistics on the driver. Spark merges the updates of successful task attempts only,
 * so requests made by attempts that later failed are not counted here (the provider's bill may be higher).
 */
public final class RequestStatsAccumulator extends AccumulatorV2<RequestStats, RequestStats> {
    private RequestStats stats = new RequestStats();

    @Override
    public boolean isZero() {
        return stats.isEmpty();
    }

    @Override
    public AccumulatorV2<RequestStats, RequestStats> copy() {
        RequestStatsAccumulator copy = new RequestStatsAccumulator();
        copy.stats = stats.snapshot();
        return copy;
    }

    @Override
    public void reset() {
        stats = new RequestStats();
    }

    @Override
    public void add(RequestStats v) {
        stats.add(v);
    }

    @Override
    public void merge(AccumulatorV2<RequestStats, RequestStats> other) {
        stats.add(other.value());
    }

    @Override
    public RequestStats value() {
        return stats;
    }
}
