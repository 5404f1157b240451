package dev.embedpipe.run;

import dev.embedpipe.run.step.ChunkStep;
import dev.embedpipe.run.step.EmbedStep;
import dev.embedpipe.run.step.ReadStep;

import dev.embedpipe.cache.EmbeddingCache;
import dev.embedpipe.config.EmbedpipeConfig;
import dev.embedpipe.embed.EmbedderProvider;
import dev.embedpipe.embed.EmbedderRegistry;
import dev.embedpipe.embed.HashGroup;
import dev.embedpipe.embed.ModelInfo;
import dev.embedpipe.progress.ProgressCounters;
import dev.embedpipe.progress.ProgressCounters.Counter;
import dev.embedpipe.progress.ProgressReporter;
import dev.embedpipe.progress.StageTimer;
import dev.embedpipe.read.FilteredTally;
import dev.embedpipe.read.InputResolver.InputFile;
import dev.embedpipe.read.LineNumbers;
import dev.embedpipe.read.ReadRecord;
import dev.embedpipe.read.Reject;
import dev.embedpipe.read.SplitTally;
import dev.embedpipe.report.Counts;
import dev.embedpipe.report.RequestStatsAccumulator;
import dev.embedpipe.report.RunReport;
import dev.embedpipe.write.OutputCommitter;
import dev.embedpipe.table.OutputSchemas;
import dev.embedpipe.write.delta.DeltaOutput;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.HashMap;
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
 * The Spark wiring of {@code embedpipe embed}, and nothing else: the stages are plain Java iterators, the Spark steps
 * are {@link ReadStep}, {@link ChunkStep} and {@link EmbedStep} (or {@link BatchEmbed}); this class runs them in
 * order, writes the tables and commits.
 * <ol>
 *   <li>read: one task per split streams lines once, parsing and cleaning them;</li>
 *   <li>spread: one shuffle sends documents by id hash to partitions sized for the cluster (one big .gz does not
 *       serialise the job), sorted so duplicate ids meet in input order;</li>
 *   <li>bookkeeping job: tallies and rejects (small) are collected and written;</li>
 *   <li>chunk, then group chunks by content hash together with the cache's vectors (one cogroup: a join, not a
 *       lookup per row); cache hits are written as they are;</li>
 *   <li>embed job: one request input per distinct missing text, checkpointed as it is paid for, written once;</li>
 *   <li>the results are split into embeddings/ and errors/, counted, and the run is committed as a whole.</li>
 * </ol>
 * Later jobs reuse the shuffle outputs of earlier ones: the input is read once and nothing is embedded twice.
 */
public final class EmbedRun {
    private static final Logger LOG = LoggerFactory.getLogger(EmbedRun.class);
    private static final long REJECT_ROWS_PER_FILE = 1_000_000;

    private EmbedRun() {}

    public static RunReport run(SparkSession spark, EmbedpipeConfig config, List<InputFile> files) {
        return run(spark, config, files, dev.embedpipe.embed.remote.BatchRunner.Step.SUBMIT_AND_WAIT);
    }

    /**
     * @param step batch mode only: submit and wait (the default), submit only (returns null, nothing is committed),
     *             or collect what finished
     */
    public static RunReport run(SparkSession spark, EmbedpipeConfig config, List<InputFile> files,
                                dev.embedpipe.embed.remote.BatchRunner.Step step) {
        long t0 = System.nanoTime();
        Instant startedAt = Instant.now();
        String runId = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC).format(startedAt)
                + "-" + Integer.toHexString(ThreadLocalRandom.current().nextInt(1 << 24));
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        EmbedderProvider provider = EmbedderRegistry.get(config.embedder().provider());
        ModelInfo model = provider.modelInfo(config);
        OutputCommitter committer = new OutputCommitter(config.output().path(), runId, spark.sparkContext().hadoopConfiguration(),
                config.output().commit());
        String output = committer.outputPath();
        DeltaOutput delta = config.output().delta() ? DeltaOutput.open(spark, output, ResultRows.columns(model), config.output().rebuild()) : null;
        String codec = config.output().compression().equals("none") ? "uncompressed" : config.output().compression();
        LOG.info("embedpipe: run {}: {} input file(s), provider {} model {}", runId, files.size(), model.provider(), model.model());

        StageTimer stages = new StageTimer();
        try (ProgressReporter progress = new ProgressReporter(spark.sparkContext(), config.progress().intervalS())) {
            // 1-3. read once, spread, bookkeeping
            ReadStep.Read read = ReadStep.read(spark, config, files, progress.counters());
            stages.done("read");
            LineNumbers lineNumbers = LineNumbers.fromTallies(read.tallies().stream()
                    .filter(r -> r instanceof SplitTally).map(r -> (SplitTally) r).toList());
            long totalRejects = read.rejectsPerFile().values().stream().mapToLong(Long::longValue).sum();
            int rejectFiles = (int) Math.max(1, Math.min(read.partitions(), (totalRejects + REJECT_ROWS_PER_FILE - 1) / REJECT_ROWS_PER_FILE));
            JavaRDD<Row> rejectRows = read.bookkeeping().filter(r -> r instanceof Reject).map(r -> {
                Reject reject = (Reject) r;
                return OutputSchemas.rejectRow(reject.sourceFile(), reject.byteOffset(), lineNumbers.lineNumber(reject),
                        reject.reason(), reject.excerpt());
            });
            spark.createDataFrame(rejectRows, OutputSchemas.REJECTS).coalesce(rejectFiles)
                    .sortWithinPartitions("source_file", "byte_offset")
                    .write().option("compression", codec).parquet(committer.stagingTable("rejects"));
            read.bookkeeping().unpersist(false);
            stages.done("rejects");
            progress.phase("chunk");
            progress.documentsTotal(ReadStep.documentsToChunk(read));

            // 4. chunk and look up the cache; hits are written as they are, misses counted for the progress line
            long tEmbed = System.nanoTime();
            int concurrentTasks = Math.max(1, Math.min(jsc.defaultParallelism(), read.partitions()));
            ProgressCounters counters = progress.counters();
            JavaRDD<HashGroup> groups = ChunkStep.hashGroups(read, config, model, EmbeddingCache.load(spark, config, model, output), counters, true);
            String hitsPath = committer.stagingTable("_results/cache");
            spark.createDataFrame(groups.flatMap(g -> {
                        if (!g.hit()) {
                            counters.add(Counter.TO_EMBED, g.chunks().size());
                            counters.add(Counter.TO_EMBED_TOKENS, g.representative().tokenCount());
                            return java.util.Collections.<Row>emptyIterator();
                        }
                        counters.add(Counter.CACHED, g.chunks().size());
                        return g.chunks().stream()
                                .map(c -> ResultRows.resultRow(c, g.cached(), null, OutputSchemas.FROM_CACHE, model)).iterator();
                    }),
                    OutputSchemas.RESULTS).write().option("compression", codec).parquet(hitsPath);
            stages.done("chunk_and_cache_lookup");

            // 5. embed what the cache missed, within the budget
            progress.phase("embed");
            RequestStatsAccumulator requestStats = new RequestStatsAccumulator();
            spark.sparkContext().register(requestStats, "embedpipe.requests");
            BatchEmbed.Outcome batch = null;
            JavaRDD<Row> embeddedRows;
            if (config.embedder().batchMode()) {
                batch = BatchEmbed.run(spark, groups, config, model, output, runId, step,
                        committer.stagingTable("_results/batch_answers"), progress);
                if (batch.rows() == null) {
                    committer.abort(); // submit-only: the journal holds the batches; nothing is committed
                    System.out.printf("embedpipe: submitted %d batch(es) (%,d requests, %,d texts, %,d tokens); attached to %d earlier;"
                                    + " journal %s/_batches/%s.json; run again with --collect to collect and commit%n",
                            batch.summary().batchesCreated, batch.summary().requestsSubmitted, batch.summary().inputsSubmitted,
                            batch.summary().tokensSubmitted, batch.summary().batchesAttached, output, runId);
                    return null;
                }
                embeddedRows = batch.rows();
            } else {
                long[] allowances = EmbedStep.allowances(groups, config, read.partitions());
                embeddedRows = EmbedStep.embedMisses(spark, groups, config, model, output, concurrentTasks, allowances, requestStats, counters);
            }
            String embeddedPath = committer.stagingTable("_results/embedded");
            spark.createDataFrame(embeddedRows, OutputSchemas.RESULTS).write().option("compression", codec).parquet(embeddedPath);
            stages.done("embed");
            progress.phase("write");

            // 6. split into the output tables, extend the shared cache, count
            Dataset<Row> results = spark.read().schema(OutputSchemas.RESULTS).parquet(hitsPath, embeddedPath);
            // Delta: this run's rows are the MERGE's source, staged where the commit cleans up
            String embeddingsPath = committer.stagingTable(delta != null ? "_results/embeddings" : "embeddings");
            results.filter(col("origin").notEqual(OutputSchemas.ERROR)).select(OutputSchemas.columns(OutputSchemas.EMBEDDINGS))
                    .write().option("compression", codec).parquet(embeddingsPath);
            results.filter(col("origin").equalTo(OutputSchemas.ERROR)).select(OutputSchemas.columns(OutputSchemas.ERRORS))
                    .coalesce(1).write().option("compression", codec).parquet(committer.stagingTable("errors"));
            EmbeddingCache.extend(results.filter(col("origin").equalTo(OutputSchemas.EMBEDDED)), config, runId, codec);
            long embedMs = (System.nanoTime() - tEmbed) / 1_000_000;
            stages.done("write_tables");

            List<Row> perFile = results.groupBy("source_file").agg(count(lit(1)), sum("token_count"),
                    sum(when(col("chunk_index").equalTo(0), 1).otherwise(0)),
                    sum(when(col("origin").equalTo(OutputSchemas.ERROR), 1).otherwise(0)),
                    sum(when(col("origin").isin(OutputSchemas.FROM_CACHE, OutputSchemas.REUSED), 1).otherwise(0)),
                    sum(when(col("error_class").equalTo("budget_exhausted"), 1).otherwise(0)),
                    sum(when(col("error_class").equalTo("batch_pending"), 1).otherwise(0))).collectAsList();
            Map<Integer, Counts> counts = countsPerFile(files, read.tallies(), read.rejectsPerFile(), perFile);
            long unsent = perFile.stream().mapToLong(r -> r.getLong(6)).sum();
            Dataset<Row> written = spark.read().parquet(embeddingsPath);
            int parquetFiles = written.inputFiles().length;
            ModelInfo recorded = model.dimensions() > 0 || written.isEmpty() ? model
                    : new ModelInfo(model.provider(), model.model(), written.first().getInt(written.schema().fieldIndex("dimensions")),
                    model.tokenizer(), model.maxInputTokens(), model.modelLocation());

            long wallMs = (System.nanoTime() - t0) / 1_000_000;
            RunReport report = new RunReport(runId, startedAt, output, config, recorded, files, counts,
                    parquetFiles, read.partitions(), spark.sparkContext().master(), spark.sparkContext().applicationId(),
                    read.readMs(), embedMs, wallMs, requestStats.value(), unsent, committer, stages.done("count"));
            if (batch != null) {
                report.batch(batch.summary(), perFile.stream().mapToLong(r -> r.getLong(7)).sum());
            }
            long tCommit = System.nanoTime();
            if (delta != null) {
                report.delta(DeltaRun.commit(spark, delta, config, recorded, read, results, written));
            }
            committer.commit(report.manifest(Instant.now()));
            if (batch != null) {
                batch.runner().markCommitted();
            }
            LOG.info("embedpipe: committed {} in {} ms", output, (System.nanoTime() - tCommit) / 1_000_000);
            return report;
        } catch (Throwable e) { // SparkException is checked, yet Spark throws it from here: abort on it too
            RunningTasks.cancelAndWait(spark); // before the abort: a running task would write into staging again
            committer.abort();
            throw e;
        }
    }

    private static Map<Integer, Counts> countsPerFile(List<InputFile> files, List<ReadRecord> tallies,
                                                      Map<Integer, Long> rejectsPerFile, List<Row> results) {
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
        for (Row row : results) {
            Counts c = counts.get(indexByPath.get(row.getString(0)));
            long chunks = row.getLong(1);
            long errored = row.getLong(4);
            long cached = row.getLong(5);
            c.chunks += chunks;
            c.errored += errored;
            c.cached += cached;
            c.embedded += chunks - errored - cached;
            c.tokens += row.isNullAt(2) ? 0 : row.getLong(2);
            c.chunked += row.getLong(3);
        }
        return counts;
    }

}
