package dev.embedpipe.run.step;

import dev.embedpipe.read.FilteredTally;
import dev.embedpipe.read.ReadRecord;
import dev.embedpipe.read.SplitTally;
import org.apache.spark.util.AccumulatorV2;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The read stage's tallies (one {@link SplitTally} per split, one {@link FilteredTally} per file and partition),
 * carried to the driver beside the data instead of through the document shuffle. Each is kept under the split or
 * partition it counts, replacing an earlier copy: a task that Spark runs again (a lost executor, or a later job
 * reading the same partition) reports the same tally again without counting it twice.
 */
final class ReadTallies extends AccumulatorV2<ReadTallies.Keyed, Map<String, ReadRecord>> {
    private Map<String, ReadRecord> byKey = new HashMap<>();

    /** A tally and what it counts: a split, or a file within a partition. */
    record Keyed(String key, ReadRecord tally) implements java.io.Serializable {
        static Keyed split(SplitTally t) {
            return new Keyed("split " + t.fileIndex() + "/" + t.splitIndex(), t);
        }

        static Keyed filtered(int partition, FilteredTally t) {
            return new Keyed("filtered " + partition + "/" + t.fileIndex(), t);
        }
    }

    List<SplitTally> splits() {
        return value().values().stream().filter(r -> r instanceof SplitTally).map(r -> (SplitTally) r).toList();
    }

    List<FilteredTally> filtered() {
        return value().values().stream().filter(r -> r instanceof FilteredTally).map(r -> (FilteredTally) r).toList();
    }

    @Override
    public boolean isZero() {
        return byKey.isEmpty();
    }

    @Override
    public AccumulatorV2<Keyed, Map<String, ReadRecord>> copy() {
        ReadTallies copy = new ReadTallies();
        copy.merge(this);
        return copy;
    }

    @Override
    public void reset() {
        byKey = new HashMap<>();
    }

    @Override
    public synchronized void add(Keyed v) {
        byKey.put(v.key(), v.tally());
    }

    @Override
    public synchronized void merge(AccumulatorV2<Keyed, Map<String, ReadRecord>> other) {
        byKey.putAll(other.value());
    }

    @Override
    public synchronized Map<String, ReadRecord> value() {
        return byKey;
    }
}
