package dev.embedpipe.job;

import dev.embedpipe.chunk.ChunkStage;
import dev.embedpipe.chunk.Chunker;
import dev.embedpipe.clean.Cleaner;
import dev.embedpipe.config.EmbedpipeConfig;
import dev.embedpipe.embed.EmbedStage;
import dev.embedpipe.embed.Embedder;
import dev.embedpipe.embed.EmbedderProvider;
import dev.embedpipe.embed.EmbedderRegistry;
import dev.embedpipe.embed.ModelInfo;
import dev.embedpipe.read.Document;
import dev.embedpipe.read.DuplicateIdFilter;
import dev.embedpipe.read.FilteredCounter;
import dev.embedpipe.read.FilteredTally;
import dev.embedpipe.read.InputResolver.InputFile;
import dev.embedpipe.read.InputResolver;
import dev.embedpipe.read.LineNumbers;
import dev.embedpipe.read.RangeOpener;
import dev.embedpipe.read.ReadRecord;
import dev.embedpipe.read.RecordParser;
import dev.embedpipe.read.Reject;
import dev.embedpipe.read.SourceSplit;
import dev.embedpipe.read.SplitReader;
import dev.embedpipe.read.SplitTally;
import dev.embedpipe.tokenize.Tokenizers;
import dev.embedpipe.write.OutputCommitter;
import dev.embedpipe.write.OutputSchemas;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Tuple2;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ThreadLocalRandom;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.sum;
import static org.apache.spark.sql.functions.when;

/**
 * The Spark wiring of {@code embedpipe embed}, and nothing else: the stages are plain Java iterators.
 * <ol>
 *   <li>read: one task per split streams lines once, parsing and cleaning them;</li>
 *   <li>spread: one shuffle sends documents by id hash to partitions sized for the cluster (one big .gz does not
 *       serialise the job), sorted so duplicate ids meet in input order;</li>
 *   <li>bookkeeping job: tallies and rejects (small) are collected and written;</li>
 *   <li>embed job: chunk, embed and write, reusing the shuffle output (the input is not read again);</li>
 *   <li>counts are read back from the written table, then the run is committed as a whole.</li>
 * </ol>
 */
public final class EmbedJob {
    private static final Logger LOG = LoggerFactory.getLogger(EmbedJob.class);
    private static final long REJECT_ROWS_PER_FILE = 1_000_000;
    /** gzip'd JSONL typically inflates about this much; used only to size partitions. */
    private static final int GZIP_RATIO = 4;

    private EmbedJob() {}

    public static RunReport run(SparkSession spark, EmbedpipeConfig config, List<InputFile> files) {
        long t0 = System.nanoTime();
        Instant startedAt = Instant.now();
        String runId = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC).format(startedAt)
                + "-" + Integer.toHexString(ThreadLocalRandom.current().nextInt(1 << 24));
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        Configuration hadoop = spark.sparkContext().hadoopConfiguration();
        EmbedderProvider provider = EmbedderRegistry.get(config.embedder().provider());
        ModelInfo model = provider.modelInfo(config);
        List<SourceSplit> splits = InputResolver.splits(files, config.input().splitBytes());
        int partitions = partitionCount(files, config.input().partitionBytes(), jsc.defaultParallelism());
        OutputCommitter committer = new OutputCommitter(config.output().path(), runId, hadoop);
        String codec = config.output().compression().equals("none") ? "uncompressed" : config.output().compression();
        LOG.info("embedpipe: run {}: {} input file(s), {} split(s), {} partition(s), provider {} model {}",
                runId, files.size(), splits.size(), partitions, model.provider(), model.model());

        try {
            // 1-2. read once and spread
            EmbedpipeConfig cfg = config;
            FaultInjection faults = new FaultInjection(spark.conf().get(FaultInjection.CONF_KEY, ""));
            RangeOpener opener = new HadoopRangeOpener(new Configuration(hadoop));
            JavaRDD<ReadRecord> read = jsc.parallelize(splits, Math.max(1, splits.size()))
                    .flatMap(split -> {
                        SplitReader reader = new SplitReader(split, opener,
                                new RecordParser(cfg.input().idField(), cfg.input().textField()),
                                new Cleaner(cfg.clean().steps(), cfg.clean().minChars()), cfg.input().maxLineBytes());
                        TaskContext.get().addTaskCompletionListener((org.apache.spark.util.TaskCompletionListener) task -> reader.close()); // also on failure
                        return faults.wrap("read", reader);
                    });
            JavaRDD<ReadRecord> spread = read
                    .mapToPair(record -> new Tuple2<>(ShuffleKey.of(record, partitions), record))
                    .repartitionAndSortWithinPartitions(new ShuffleKey.ByPartitionField(partitions))
                    .values()
                    .mapPartitions(sorted -> new FilteredCounter(new DuplicateIdFilter(sorted, cfg.input().duplicateIds())));

            // 3. bookkeeping: tallies and rejects
            long tRead = System.nanoTime();
            JavaRDD<ReadRecord> bookkeeping = spread.filter(r -> !(r instanceof Document)).persist(StorageLevel.MEMORY_AND_DISK());
            List<ReadRecord> tallies = bookkeeping.filter(r -> r instanceof SplitTally || r instanceof FilteredTally).collect();
            Map<Integer, Long> rejectsPerFile = bookkeeping.filter(r -> r instanceof Reject)
                    .map(r -> ((Reject) r).fileIndex()).countByValue();
            long readMs = (System.nanoTime() - tRead) / 1_000_000;
            LineNumbers lineNumbers = LineNumbers.fromTallies(tallies.stream()
                    .filter(r -> r instanceof SplitTally).map(r -> (SplitTally) r).toList());
            long totalRejects = rejectsPerFile.values().stream().mapToLong(Long::longValue).sum();
            int rejectFiles = (int) Math.max(1, Math.min(partitions, (totalRejects + REJECT_ROWS_PER_FILE - 1) / REJECT_ROWS_PER_FILE));
            JavaRDD<Row> rejectRows = bookkeeping.filter(r -> r instanceof Reject).map(r -> {
                Reject reject = (Reject) r;
                return OutputSchemas.rejectRow(reject.sourceFile(), reject.byteOffset(), lineNumbers.lineNumber(reject),
                        reject.reason(), reject.excerpt());
            });
            spark.createDataFrame(rejectRows, OutputSchemas.REJECTS).coalesce(rejectFiles)
                    .sortWithinPartitions("source_file", "byte_offset")
                    .write().option("compression", codec).parquet(committer.stagingTable("rejects"));
            bookkeeping.unpersist(false);
            LOG.info("embedpipe: read {} file(s) in {} ms; {} reject(s)", files.size(), readMs, totalRejects);

            // 4. chunk, embed, write
            long tEmbed = System.nanoTime();
            int concurrentTasks = Math.max(1, Math.min(jsc.defaultParallelism(), partitions));
            RequestStatsAccumulator requestStats = new RequestStatsAccumulator();
            spark.sparkContext().register(requestStats, "embedpipe.requests");
            boolean failsPerItem = provider.failsPerItem();
            JavaRDD<Row> rows = spread.filter(r -> r instanceof Document).map(r -> (Document) r)
                    .mapPartitions(documents -> {
                        Chunker chunker = new Chunker(Tokenizers.get(model.tokenizer()), cfg.chunk().maxTokens(), cfg.chunk().overlapTokens());
                        Embedder embedder = EmbedderRegistry.get(cfg.embedder().provider()).embedder(cfg);
                        Embedder.Session session = embedder.openSession(cfg, concurrentTasks);
                        EmbedStage embedded = new EmbedStage(new ChunkStage(documents, chunker), session, embedder.shape(cfg));
                        TaskContext.get().addTaskCompletionListener((org.apache.spark.util.TaskCompletionListener) task -> {
                            embedded.close();
                            requestStats.add(session.stats());
                            session.close();
                        });
                        return faults.wrap("embed", mapped(embedded, e -> failsPerItem
                                ? OutputSchemas.resultRow(e, model) : OutputSchemas.embeddingRow(e, model)));
                    });
            if (failsPerItem) {
                // Embedded once into one results table, then split by reading it back: no API call is repeated.
                spark.createDataFrame(rows, OutputSchemas.RESULTS)
                        .write().option("compression", codec).parquet(committer.stagingTable("_results"));
                Dataset<Row> results = spark.read().parquet(committer.stagingTable("_results"));
                results.filter(col("error_class").isNull()).select(columns(OutputSchemas.EMBEDDINGS))
                        .write().option("compression", codec).parquet(committer.stagingTable("embeddings"));
                results.filter(col("error_class").isNotNull()).select(columns(OutputSchemas.ERRORS))
                        .coalesce(1).write().option("compression", codec).parquet(committer.stagingTable("errors"));
            } else {
                spark.createDataFrame(rows, OutputSchemas.EMBEDDINGS)
                        .write().option("compression", codec).parquet(committer.stagingTable("embeddings"));
                spark.createDataFrame(List.of(), OutputSchemas.ERRORS)
                        .write().option("compression", codec).parquet(committer.stagingTable("errors"));
            }
            long embedMs = (System.nanoTime() - tEmbed) / 1_000_000;

            // 5. count from what was written, then commit
            Dataset<Row> written = spark.read().parquet(committer.stagingTable("embeddings"));
            Dataset<Row> errors = spark.read().parquet(committer.stagingTable("errors"));
            List<Row> perFile = written.select(col("source_file"), col("token_count"), col("chunk_index"), lit(0).as("errored"))
                    .unionByName(errors.select(col("source_file"), col("token_count"), col("chunk_index"), lit(1).as("errored")))
                    .groupBy("source_file")
                    .agg(count(lit(1)), sum("token_count"), sum(when(col("chunk_index").equalTo(0), 1).otherwise(0)), sum("errored"))
                    .collectAsList();
            int parquetFiles = written.inputFiles().length;
            Map<Integer, Counts> counts = countsPerFile(files, tallies, rejectsPerFile, perFile);
            ModelInfo recorded = model.dimensions() > 0 || written.isEmpty() ? model
                    : new ModelInfo(model.provider(), model.model(), written.first().getInt(written.schema().fieldIndex("dimensions")),
                    model.tokenizer(), model.maxInputTokens(), model.modelLocation());

            long wallMs = (System.nanoTime() - t0) / 1_000_000;
            RunReport report = new RunReport(runId, startedAt, committer.outputPath(), config, recorded, files, counts,
                    parquetFiles, partitions, spark.sparkContext().master(), spark.sparkContext().applicationId(),
                    readMs, embedMs, wallMs, requestStats.value());
            long tCommit = System.nanoTime();
            committer.commit(report.manifestJson(Instant.now()));
            LOG.info("embedpipe: committed {} in {} ms", committer.outputPath(), (System.nanoTime() - tCommit) / 1_000_000);
            return report;
        } catch (RuntimeException e) {
            committer.abort();
            throw e;
        }
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

    private static Map<Integer, Counts> countsPerFile(List<InputFile> files, List<ReadRecord> tallies,
                                                      Map<Integer, Long> rejectsPerFile, List<Row> written) {
        Map<Integer, Counts> counts = new TreeMap<>();
        Map<String, Integer> indexByPath = new HashMap<>();
        for (InputFile file : files) {
            counts.put(file.index(), new Counts());
            indexByPath.put(file.path(), file.index());
        }
        for (ReadRecord r : tallies) {
            if (r instanceof SplitTally t) {
                Counts c = counts.get(t.fileIndex());
                c.lines += t.lines();
                c.skipped += t.skipped();
            } else if (r instanceof FilteredTally f) {
                counts.get(f.fileIndex()).filtered += f.filtered();
            }
        }
        rejectsPerFile.forEach((file, n) -> counts.get(file).rejected += n);
        for (Row row : written) {
            Counts c = counts.get(indexByPath.get(row.getString(0)));
            c.chunks += row.getLong(1);
            c.errored += row.getLong(4);
            c.embedded += row.getLong(1) - row.getLong(4);
            c.tokens += row.isNullAt(2) ? 0 : row.getLong(2);
            c.chunked += row.getLong(3);
        }
        return counts;
    }

    private static org.apache.spark.sql.Column[] columns(org.apache.spark.sql.types.StructType schema) {
        return java.util.Arrays.stream(schema.fieldNames()).map(org.apache.spark.sql.functions::col)
                .toArray(org.apache.spark.sql.Column[]::new);
    }

    private static <A, B> Iterator<B> mapped(Iterator<A> in, java.util.function.Function<A, B> f) {
        return new Iterator<>() {
            @Override
            public boolean hasNext() {
                return in.hasNext();
            }

            @Override
            public B next() {
                return f.apply(in.next());
            }
        };
    }

}
