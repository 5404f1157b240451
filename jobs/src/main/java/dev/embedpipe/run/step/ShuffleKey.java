package dev.embedpipe.run.step;

import dev.embedpipe.read.Document;
import dev.embedpipe.read.ReadRecord;
import dev.embedpipe.read.Reject;
import org.apache.spark.Partitioner;

import java.io.Serializable;

/**
 * Where a read record goes when the work is spread over the cluster: documents by a hash of their id (so all
 * records of one id meet in one partition, sorted by input order, for the duplicate-id check), everything else
 * (rejects) anywhere. Sorting within a partition uses Spark's external sort, which spills instead of growing the heap.
 */
public record ShuffleKey(int partition, String docId, int fileIndex, long offset) implements Comparable<ShuffleKey>, Serializable {

    static ShuffleKey of(ReadRecord record, int partitions) {
        if (record instanceof Document doc) {
            return new ShuffleKey(Math.floorMod(doc.docId().hashCode(), partitions), doc.docId(), doc.fileIndex(), doc.byteOffset());
        }
        long position = 0;
        int file = 0;
        if (record instanceof Reject r) {
            position = r.byteOffset() * 31 + r.splitIndex();
            file = r.fileIndex();
        }
        return new ShuffleKey(Math.floorMod(Long.hashCode(position * 1_000_003L + file), partitions), "", file, position);
    }

    @Override
    public int compareTo(ShuffleKey o) {
        int c = docId.compareTo(o.docId);
        if (c != 0) {
            return c;
        }
        c = Integer.compare(fileIndex, o.fileIndex);
        return c != 0 ? c : Long.compare(offset, o.offset);
    }

    /** Sends each key to the partition it names. */
    static final class ByPartitionField extends Partitioner {
        private final int partitions;

        ByPartitionField(int partitions) {
            this.partitions = partitions;
        }

        @Override
        public int numPartitions() {
            return partitions;
        }

        @Override
        public int getPartition(Object key) {
            return ((ShuffleKey) key).partition();
        }

        @Override
        public boolean equals(Object other) {
            return other instanceof ByPartitionField p && p.partitions == partitions;
        }

        @Override
        public int hashCode() {
            return partitions;
        }
    }
}
