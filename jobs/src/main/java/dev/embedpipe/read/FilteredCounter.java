package dev.embedpipe.read;

import dev.embedpipe.util.StreamingIterator;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Iterator;
import java.util.Map;
import java.util.TreeMap;

/**
 * Drops the documents the cleaner filtered (they only came this far so duplicate ids could see them) and emits,
 * at the end of the partition, one {@link FilteredTally} per file that had any.
 */
public final class FilteredCounter extends StreamingIterator<ReadRecord> {
    private final Iterator<ReadRecord> records;
    private final Map<Integer, Long> filteredByFile = new TreeMap<>();
    private Deque<ReadRecord> tallies;

    public FilteredCounter(Iterator<ReadRecord> records) {
        this.records = records;
    }

    @Override
    protected ReadRecord computeNext() {
        while (tallies == null && records.hasNext()) {
            ReadRecord record = records.next();
            if (record instanceof Document doc && doc.filtered()) {
                filteredByFile.merge(doc.fileIndex(), 1L, Long::sum);
            } else {
                return record;
            }
        }
        if (tallies == null) {
            tallies = new ArrayDeque<>();
            filteredByFile.forEach((file, count) -> tallies.add(new FilteredTally(file, count)));
        }
        return tallies.poll();
    }
}
