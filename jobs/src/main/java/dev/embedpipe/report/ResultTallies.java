package dev.embedpipe.report;

import dev.embedpipe.embed.ChunkResult;
import org.apache.spark.util.AccumulatorV2;

import java.io.Serializable;
import java.util.HashMap;
import java.util.Map;

/**
 * Counts the chunk results of a run per input file as the write step writes them, so the manifest's counts need no
 * second look at the tables. Fed from the write action's tasks, whose updates Spark merges once per successful
 * task: a failed or retried attempt is not counted twice.
 */
public final class ResultTallies extends AccumulatorV2<ChunkResult, Map<String, ResultTallies.Tally>> {
    private Map<String, Tally> bySourceFile = new HashMap<>();

    /** One file's chunk results. {@code cached} counts vectors taken from the cache or from a chunk of the same text. */
    public static final class Tally implements Serializable {
        public long chunks;
        public long tokens;
        /** documents with a first chunk: the chunked documents */
        public long chunked;
        public long embedded;
        public long reused;
        public long fromCache;
        public long errored;
        public long budgetExhausted;
        public long batchPending;

        public long cached() {
            return reused + fromCache;
        }

        void add(ChunkResult r) {
            chunks++;
            tokens += r.chunk().tokenCount();
            chunked += r.chunk().chunkIndex() == 0 ? 1 : 0;
            switch (r.origin()) {
                case EMBEDDED -> embedded++;
                case REUSED -> reused++;
                case CACHE -> fromCache++;
                case ERROR -> {
                    errored++;
                    budgetExhausted += r.error().errorClass().equals("budget_exhausted") ? 1 : 0;
                    batchPending += r.error().errorClass().equals("batch_pending") ? 1 : 0;
                }
            }
        }

        void add(Tally o) {
            chunks += o.chunks;
            tokens += o.tokens;
            chunked += o.chunked;
            embedded += o.embedded;
            reused += o.reused;
            fromCache += o.fromCache;
            errored += o.errored;
            budgetExhausted += o.budgetExhausted;
            batchPending += o.batchPending;
        }
    }

    /** The sum over every file. */
    public Tally total() {
        Tally total = new Tally();
        value().values().forEach(total::add);
        return total;
    }

    @Override
    public boolean isZero() {
        return bySourceFile.isEmpty();
    }

    @Override
    public AccumulatorV2<ChunkResult, Map<String, Tally>> copy() {
        ResultTallies copy = new ResultTallies();
        copy.merge(this);
        return copy;
    }

    @Override
    public void reset() {
        bySourceFile = new HashMap<>();
    }

    @Override
    public synchronized void add(ChunkResult r) {
        bySourceFile.computeIfAbsent(r.chunk().sourceFile(), f -> new Tally()).add(r);
    }

    @Override
    public synchronized void merge(AccumulatorV2<ChunkResult, Map<String, Tally>> other) {
        other.value().forEach((file, tally) -> bySourceFile.computeIfAbsent(file, f -> new Tally()).add(tally));
    }

    @Override
    public Map<String, Tally> value() {
        return bySourceFile;
    }
}
