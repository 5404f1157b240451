package dev.embedpipe.run.step;

import dev.embedpipe.run.TaskHook;

import dev.embedpipe.clean.Cleaner;
import dev.embedpipe.config.EmbedpipeConfig;
import dev.embedpipe.progress.ProgressCounters;
import dev.embedpipe.progress.ProgressCounters.Counter;
import dev.embedpipe.read.Document;
import dev.embedpipe.read.DuplicateIdFilter;
import dev.embedpipe.read.FilteredCounter;
import dev.embedpipe.read.FilteredTally;
import dev.embedpipe.read.HadoopRangeOpener;
import dev.embedpipe.read.InputResolver;
import dev.embedpipe.read.InputResolver.InputFile;
import dev.embedpipe.read.RangeOpener;
import dev.embedpipe.read.ReadRecord;
import dev.embedpipe.read.RecordParser;
import dev.embedpipe.read.Reject;
import dev.embedpipe.read.SourceSplit;
import dev.embedpipe.read.SplitReader;
import dev.embedpipe.read.SplitTally;
import dev.embedpipe.util.Iterators;
import dev.embedpipe.util.SerializableConf;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import org.apache.spark.util.TaskCompletionListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Tuple2;

import java.util.List;
import java.util.Map;

import static org.apache.spark.sql.functions.sum;
import static org.apache.spark.sql.functions.when;

/**
 * Step 1 of a run: one task per split streams lines once (parse, clean); one shuffle spreads documents by id hash to
 * partitions sized for the cluster, sorted so duplicate ids meet in input order; rejects are counted, and the tallies
 * of lines and filtered documents come back beside the data ({@link ReadTallies}).
 */
public final class ReadStep {
    private static final Logger LOG = LoggerFactory.getLogger(ReadStep.class);
    /** gzip'd JSONL typically inflates about this much; used only to size partitions. */
    private static final int GZIP_RATIO = 4;

    private ReadStep() {}

    /** What reading produced: the spread records and the small bookkeeping collected from them. */
    public record Read(JavaRDD<ReadRecord> spread, JavaRDD<ReadRecord> rejects, List<SplitTally> splits,
                       List<FilteredTally> filtered, Map<Integer, Long> rejectsPerFile, int partitions, long readMs) {}

    public static Read read(SparkSession spark, EmbedpipeConfig config, List<InputFile> files, ProgressCounters progress) {
        long tRead = System.nanoTime();
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        List<SourceSplit> splits = InputResolver.splits(files, config.input().splitBytes());
        int partitions = partitionCount(files, config.input().partitionBytes(), jsc.defaultParallelism());
        EmbedpipeConfig cfg = config;
        TaskHook faults = TaskHook.of(spark);
        ReadTallies tallies = new ReadTallies();
        spark.sparkContext().register(tallies, "embedpipe.read_tallies");
        RangeOpener opener = new HadoopRangeOpener(new SerializableConf(spark.sparkContext().hadoopConfiguration()));
        JavaRDD<ReadRecord> read = jsc.parallelize(splits, Math.max(1, splits.size()))
                .flatMap(split -> {
                    SplitReader reader = new SplitReader(split, opener,
                            new RecordParser(cfg.input().idField(), cfg.input().textField(), cfg.input().maxLineBytes()),
                            new Cleaner(cfg.clean().steps(), cfg.clean().minChars()), cfg.input().maxLineBytes());
                    TaskContext.get().addTaskCompletionListener((TaskCompletionListener) task -> reader.close()); // also on failure
                    return faults.wrap("read", Iterators.filtered(reader, r -> {
                        if (r instanceof Document) {
                            progress.add(Counter.DOCUMENTS, 1);
                        } else if (r instanceof Reject) {
                            progress.add(Counter.REJECTED, 1);
                        } else if (r instanceof SplitTally t) {
                            tallies.add(ReadTallies.Keyed.split(t)); // to the driver beside the data, not in the shuffle
                            return false;
                        }
                        return true;
                    }));
                });
        JavaRDD<ReadRecord> spread = read
                .mapToPair(record -> new Tuple2<>(ShuffleKey.of(record, partitions), record))
                .repartitionAndSortWithinPartitions(new ShuffleKey.ByPartitionField(partitions))
                .values()
                .mapPartitions(sorted -> Iterators.filtered(new FilteredCounter(new DuplicateIdFilter(sorted, cfg.input().duplicateIds())),
                        r -> {
                            if (r instanceof FilteredTally f) {
                                tallies.add(ReadTallies.Keyed.filtered(TaskContext.getPartitionId(), f));
                                return false;
                            }
                            return true;
                        }));
        JavaRDD<ReadRecord> rejects = spread.filter(r -> r instanceof Reject).persist(StorageLevel.MEMORY_AND_DISK());
        // this job reads every partition to its end: the tallies are all in once it is done
        Map<Integer, Long> rejectsPerFile = rejects.map(r -> ((Reject) r).fileIndex()).countByValue();
        long readMs = (System.nanoTime() - tRead) / 1_000_000;
        LOG.info("embedpipe: read {} file(s) in {} ms into {} partition(s); {} reject(s)", files.size(), readMs, partitions,
                rejectsPerFile.values().stream().mapToLong(Long::longValue).sum());
        return new Read(spread, rejects, tallies.splits(), tallies.filtered(), rejectsPerFile, partitions, readMs);
    }

    /** Documents that reach the chunker: lines less rejected, skipped and filtered ones. */
    public static long documentsToChunk(Read read) {
        long toChunk = -read.rejectsPerFile().values().stream().mapToLong(Long::longValue).sum();
        for (SplitTally t : read.splits()) {
            toChunk += t.lines() - t.skipped();
        }
        for (FilteredTally f : read.filtered()) {
            toChunk -= f.filtered();
        }
        return toChunk;
    }

    /** Enough partitions to fill every task slot, and more when the input is large, so files stay moderate. */
    static int partitionCount(List<InputFile> files, long partitionBytes, int slots) {
        long estimated = 0;
        for (InputFile file : files) {
            estimated += file.gzip() ? file.bytes() * GZIP_RATIO : file.bytes();
        }
        long bySize = (estimated + partitionBytes - 1) / partitionBytes;
        return (int) Math.min(100_000, Math.max(Math.max(1, slots), bySize));
    }

}
