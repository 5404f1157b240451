package dev.embedpipe.run;

import dev.embedpipe.run.step.ChunkStep;
import dev.embedpipe.run.step.EmbedStep;
import dev.embedpipe.run.step.ReadStep;
import dev.embedpipe.run.step.WriteStep;

import dev.embedpipe.cache.EmbeddingCache;
import dev.embedpipe.config.EmbedpipeConfig;
import dev.embedpipe.embed.ChunkResult;
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
import dev.embedpipe.report.ResultTallies;
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


/**
 * The Spark wiring of {@code embedpipe embed}, and nothing else: the stages are plain Java iterators, the Spark steps
 * are {@link ReadStep}, {@link ChunkStep}, {@link EmbedStep} (or {@link BatchEmbed}) and {@link WriteStep}; this
 * class runs them in order and commits.
 * <ol>
 *   <li>read: one task per split streams lines once, parsing and cleaning them;</li>
 *   <li>spread: one shuffle sends documents by id hash to partitions sized for the cluster (one big .gz does not
 *       serialise the job), sorted so duplicate ids meet in input order;</li>
 *   <li>rejects job: rejects are counted and written; the tallies of lines came back with the read tasks;</li>
 *   <li>chunk, then group chunks by content hash together with the cache's vectors (one cogroup: a join, not a
 *       lookup per row); a counting job sizes what is left to embed (the progress line's total, the budget's shares);</li>
 *   <li>embed and write job: cache hits take their vector, one request input per distinct missing text, checkpointed
 *       as it is paid for; each result goes once to embeddings/ or errors/ and is counted per file;</li>
 *   <li>the run is committed as a whole.</li>
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
            LineNumbers lineNumbers = LineNumbers.fromTallies(read.splits());
            long totalRejects = read.rejectsPerFile().values().stream().mapToLong(Long::longValue).sum();
            int rejectFiles = (int) Math.max(1, Math.min(read.partitions(), (totalRejects + REJECT_ROWS_PER_FILE - 1) / REJECT_ROWS_PER_FILE));
            JavaRDD<Row> rejectRows = read.rejects().map(r -> {
                Reject reject = (Reject) r;
                return OutputSchemas.rejectRow(reject.sourceFile(), reject.byteOffset(), lineNumbers.lineNumber(reject),
                        reject.reason(), reject.excerpt());
            });
            spark.createDataFrame(rejectRows, OutputSchemas.REJECTS).coalesce(rejectFiles)
                    .sortWithinPartitions("source_file", "byte_offset")
                    .write().option("compression", codec).parquet(committer.stagingTable("rejects"));
            read.rejects().unpersist(false);
            stages.done("rejects");
            progress.phase("chunk");
            progress.documentsTotal(ReadStep.documentsToChunk(read));

            // 4. chunk and look up the cache; one counting pass gives the progress line its totals and the budget its shares
            long tEmbed = System.nanoTime();
            int concurrentTasks = Math.max(1, Math.min(jsc.defaultParallelism(), read.partitions()));
            ProgressCounters counters = progress.counters();
            JavaRDD<HashGroup> groups = ChunkStep.hashGroups(read, config, model, EmbeddingCache.load(spark, config, model, output), counters, true);
            EmbedStep.Plan plan = EmbedStep.plan(groups, read.partitions());
            progress.countOnDriver(Counter.CACHED, plan.cachedChunks());
            progress.countOnDriver(Counter.TO_EMBED, plan.totalChunksToEmbed());
            progress.countOnDriver(Counter.TO_EMBED_TOKENS, plan.totalTokensToEmbed());
            stages.done("chunk_and_cache_lookup");

            // 5. embed what the cache missed, within the budget, and write every result once
            progress.phase("embed");
            RequestStatsAccumulator requestStats = new RequestStatsAccumulator();
            spark.sparkContext().register(requestStats, "embedpipe.requests");
            BatchEmbed.Outcome batch = null;
            JavaRDD<ChunkResult> results;
            if (config.embedder().batchMode()) {
                batch = BatchEmbed.run(spark, groups, config, model, output, runId, step,
                        committer.stagingTable("_results/batch_answers"), progress);
                if (batch.results() == null) {
                    committer.abort(); // submit-only: the journal holds the batches; nothing is committed
                    System.out.printf("embedpipe: submitted %d batch(es) (%,d requests, %,d texts, %,d tokens); attached to %d earlier;"
                                    + " journal %s/_batches/%s.json; run again with --collect to collect and commit%n",
                            batch.summary().batchesCreated, batch.summary().requestsSubmitted, batch.summary().inputsSubmitted,
                            batch.summary().tokensSubmitted, batch.summary().batchesAttached, output, runId);
                    return null;
                }
                results = EmbedStep.cached(groups).union(batch.results());
            } else {
                results = EmbedStep.embed(spark, groups, config, model, output, concurrentTasks, plan.allowances(config),
                        requestStats, counters);
            }
            // Delta: this run's rows are the MERGE's source, staged where the commit cleans up
            String embeddingsPath = committer.stagingTable(delta != null ? "_results/embeddings" : "embeddings");
            String errorsPath = committer.stagingTable("errors");
            ResultTallies tallies = WriteStep.write(spark, results, null, ResultRows.columns(model),
                    new WriteStep.Tables(embeddingsPath, errorsPath, EmbeddingCache.runFolder(config, runId), codec));
            long embedMs = (System.nanoTime() - tEmbed) / 1_000_000;
            stages.done("embed"); // the results are written in the same pass
            progress.phase("write");

            // 6. count, and commit the run as a whole
            Map<Integer, Counts> counts = countsPerFile(files, read, tallies.value());
            ResultTallies.Tally total = tallies.total();
            Dataset<Row> written = spark.read().parquet(embeddingsPath);
            int parquetFiles = written.inputFiles().length;
            ModelInfo recorded = model.dimensions() > 0 || written.isEmpty() ? model
                    : new ModelInfo(model.provider(), model.model(), written.first().getInt(written.schema().fieldIndex("dimensions")),
                    model.tokenizer(), model.maxInputTokens(), model.modelLocation());

            long wallMs = (System.nanoTime() - t0) / 1_000_000;
            RunReport report = new RunReport(runId, startedAt, output, config, recorded, files, counts,
                    parquetFiles, read.partitions(), spark.sparkContext().master(), spark.sparkContext().applicationId(),
                    read.readMs(), embedMs, wallMs, requestStats.value(), total.budgetExhausted, committer, stages.done("count"));
            if (batch != null) {
                report.batch(batch.summary(), total.batchPending);
            }
            long tCommit = System.nanoTime();
            if (delta != null) {
                report.delta(DeltaRun.commit(spark, delta, config, recorded, read, spark.read().parquet(errorsPath), written));
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

    private static Map<Integer, Counts> countsPerFile(List<InputFile> files, ReadStep.Read read,
                                                      Map<String, ResultTallies.Tally> results) {
        Map<Integer, Counts> counts = new TreeMap<>();
        Map<String, Integer> indexByPath = new HashMap<>();
        for (InputFile file : files) {
            counts.put(file.index(), new Counts());
            indexByPath.put(file.path(), file.index());
        }
        for (SplitTally t : read.splits()) {
            counts.get(t.fileIndex()).lines += t.lines();
            counts.get(t.fileIndex()).skipped += t.skipped();
        }
        for (FilteredTally f : read.filtered()) {
            counts.get(f.fileIndex()).filtered += f.filtered();
        }
        read.rejectsPerFile().forEach((file, n) -> counts.get(file).rejected += n);
        results.forEach((sourceFile, t) -> {
            Counts c = counts.get(indexByPath.get(sourceFile));
            c.chunks += t.chunks;
            c.errored += t.errored;
            c.cached += t.cached();
            c.embedded += t.embedded;
            c.tokens += t.tokens;
            c.chunked += t.chunked;
        });
        return counts;
    }

}
