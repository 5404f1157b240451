package dev.embedpipe.job;

import dev.embedpipe.chunk.Chunk;
import dev.embedpipe.chunk.ChunkStage;
import dev.embedpipe.chunk.Chunker;
import dev.embedpipe.clean.Cleaner;
import dev.embedpipe.config.EmbedpipeConfig;
import dev.embedpipe.embed.Embedder;
import dev.embedpipe.embed.EmbedderProvider;
import dev.embedpipe.embed.EmbedderRegistry;
import dev.embedpipe.embed.GroupEmbedStage;
import dev.embedpipe.embed.HashGroup;
import dev.embedpipe.embed.ModelInfo;
import dev.embedpipe.embed.RequestPacker;
import dev.embedpipe.embed.UnknownTokenCheck;
import dev.embedpipe.job.ProgressCounters.Counter;
import dev.embedpipe.read.Document;
import dev.embedpipe.read.DuplicateIdFilter;
import dev.embedpipe.read.FilteredCounter;
import dev.embedpipe.read.FilteredTally;
import dev.embedpipe.read.InputResolver;
import dev.embedpipe.read.InputResolver.InputFile;
import dev.embedpipe.read.LineNumbers;
import dev.embedpipe.read.RangeOpener;
import dev.embedpipe.read.ReadRecord;
import dev.embedpipe.read.RecordParser;
import dev.embedpipe.read.Reject;
import dev.embedpipe.read.SourceSplit;
import dev.embedpipe.read.SplitReader;
import dev.embedpipe.read.SplitTally;
import dev.embedpipe.tokenize.Tokenizers;
import dev.embedpipe.write.CheckpointWriter;
import dev.embedpipe.write.OutputCommitter;
import dev.embedpipe.table.OutputSchemas;
import dev.embedpipe.write.delta.DeltaOutput;
import org.apache.spark.HashPartitioner;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import org.apache.spark.util.TaskCompletionListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Tuple2;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.LongPredicate;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.sum;
import static org.apache.spark.sql.functions.when;

/**
 * The Spark wiring of {@code embedpipe embed} (and of {@code estimate}), and nothing else: the stages are plain
 * Java iterators.
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
public final class EmbedJob {
    private static final Logger LOG = LoggerFactory.getLogger(EmbedJob.class);
    private static final long REJECT_ROWS_PER_FILE = 1_000_000;
    /** gzip'd JSONL typically inflates about this much; used only to size partitions. */
    private static final int GZIP_RATIO = 4;

    private EmbedJob() {}

    /** What reading produced: the spread records and the small bookkeeping collected from them. */
    record Read(JavaRDD<ReadRecord> spread, JavaRDD<ReadRecord> bookkeeping, List<ReadRecord> tallies,
                Map<Integer, Long> rejectsPerFile, int partitions, long readMs) {}

    static Read read(SparkSession spark, EmbedpipeConfig config, List<InputFile> files, ProgressCounters progress) {
        long tRead = System.nanoTime();
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        List<SourceSplit> splits = InputResolver.splits(files, config.input().splitBytes());
        int partitions = partitionCount(files, config.input().partitionBytes(), jsc.defaultParallelism());
        EmbedpipeConfig cfg = config;
        FaultInjection faults = new FaultInjection(spark.conf().get(FaultInjection.CONF_KEY, ""));
        RangeOpener opener = new HadoopRangeOpener(new SerializableConf(spark.sparkContext().hadoopConfiguration()));
        JavaRDD<ReadRecord> read = jsc.parallelize(splits, Math.max(1, splits.size()))
                .flatMap(split -> {
                    SplitReader reader = new SplitReader(split, opener,
                            new RecordParser(cfg.input().idField(), cfg.input().textField(), cfg.input().maxLineBytes()),
                            new Cleaner(cfg.clean().steps(), cfg.clean().minChars()), cfg.input().maxLineBytes());
                    TaskContext.get().addTaskCompletionListener((TaskCompletionListener) task -> reader.close()); // also on failure
                    return faults.wrap("read", mapped(reader, r -> {
                        if (r instanceof Document) {
                            progress.add(Counter.DOCUMENTS, 1);
                        } else if (r instanceof Reject) {
                            progress.add(Counter.REJECTED, 1);
                        }
                        return r;
                    }));
                });
        JavaRDD<ReadRecord> spread = read
                .mapToPair(record -> new Tuple2<>(ShuffleKey.of(record, partitions), record))
                .repartitionAndSortWithinPartitions(new ShuffleKey.ByPartitionField(partitions))
                .values()
                .mapPartitions(sorted -> new FilteredCounter(new DuplicateIdFilter(sorted, cfg.input().duplicateIds())));
        JavaRDD<ReadRecord> bookkeeping = spread.filter(r -> !(r instanceof Document)).persist(StorageLevel.MEMORY_AND_DISK());
        List<ReadRecord> tallies = bookkeeping.filter(r -> r instanceof SplitTally || r instanceof FilteredTally).collect();
        Map<Integer, Long> rejectsPerFile = bookkeeping.filter(r -> r instanceof Reject)
                .map(r -> ((Reject) r).fileIndex()).countByValue();
        long readMs = (System.nanoTime() - tRead) / 1_000_000;
        LOG.info("embedpipe: read {} file(s) in {} ms into {} partition(s); {} reject(s)", files.size(), readMs, partitions,
                rejectsPerFile.values().stream().mapToLong(Long::longValue).sum());
        return new Read(spread, bookkeeping, tallies, rejectsPerFile, partitions, readMs);
    }

    /**
     * Chunks the documents and groups the chunks by content hash with the cache's vectors, into the same number of
     * partitions: identical texts meet once, and cached ones carry their vector.
     */
    static JavaRDD<HashGroup> hashGroups(Read read, EmbedpipeConfig config, ModelInfo model,
                                         JavaPairRDD<String, float[]> cache, ProgressCounters progress) {
        EmbedpipeConfig cfg = config;
        boolean localModel = model.modelLocation() != null;
        JavaPairRDD<String, Chunk> chunks = read.spread().filter(r -> r instanceof Document).map(r -> (Document) r)
                .mapPartitionsToPair(documents -> {
                    EmbedderRegistry.get(cfg.embedder().provider()).warmUp(cfg);
                    Chunker chunker = new Chunker(Tokenizers.get(model.tokenizer()), cfg.chunk().maxTokens(), cfg.chunk().overlapTokens(),
                            model.documentText(""));
                    Iterator<Document> counted = mapped(documents, d -> {
                        progress.add(Counter.DOCUMENTS_CHUNKED, 1);
                        return d;
                    });
                    return mapped(new ChunkStage(counted, chunker), c -> {
                        progress.add(Counter.CHUNKS, 1);
                        progress.add(Counter.CHUNK_TOKENS, c.tokenCount());
                        // A local model's ids travel to it (tokenized once); a remote API takes text.
                        return new Tuple2<>(c.contentHash(), localModel ? c : c.withoutTokenIds());
                    });
                });
        return group(chunks, cache, read.partitions(), UnknownTokenCheck.of(config, model));
    }

    /**
     * Chunks by content hash, with the cache's vector for that hash if it has one, in {@code partitions} partitions.
     * A text the unknown-token check refuses never takes a cached vector: it goes on to become an error.
     */
    static JavaRDD<HashGroup> group(JavaPairRDD<String, Chunk> chunks, JavaPairRDD<String, float[]> cache, int partitions,
                                    UnknownTokenCheck unknownCheck) {
        return chunks.cogroup(cache, new HashPartitioner(partitions)).map(keyed -> {
            List<Chunk> same = new ArrayList<>();
            keyed._2()._1().forEach(same::add);
            if (same.isEmpty()) {
                return null; // a cached text this run does not have
            }
            same.sort(Comparator.comparing(Chunk::chunkId)); // the representative does not depend on shuffle order
            Iterator<float[]> cached = keyed._2()._2().iterator();
            boolean usable = cached.hasNext() && (unknownCheck == null || unknownCheck.refusal(same.get(0)) == null);
            return new HashGroup(keyed._1(), same, usable ? cached.next() : null);
        }).filter(Objects::nonNull);
    }

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
            Read read = read(spark, config, files, progress.counters());
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
            progress.documentsTotal(documentsToChunk(read));

            // 4. chunk and look up the cache; hits are written as they are, misses counted for the progress line
            long tEmbed = System.nanoTime();
            int concurrentTasks = Math.max(1, Math.min(jsc.defaultParallelism(), read.partitions()));
            ProgressCounters counters = progress.counters();
            JavaRDD<HashGroup> groups = hashGroups(read, config, model, EmbeddingCache.load(spark, config, model, output), counters);
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
                long[] allowances = allowances(groups, config, read.partitions());
                embeddedRows = embedMisses(spark, groups, config, model, output, concurrentTasks, allowances, requestStats, counters);
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
            committer.commit(report.manifestJson(Instant.now()));
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

    /**
     * Embeds the groups the cache missed, one task per partition: one request input per distinct text, vectors
     * checkpointed under {@code output} as they are paid for, request statistics into {@code requestStats}.
     */
    static JavaRDD<Row> embedMisses(SparkSession spark, JavaRDD<HashGroup> groups, EmbedpipeConfig config, ModelInfo model,
                                    String output, int concurrentTasks, long[] allowances, RequestStatsAccumulator requestStats,
                                    ProgressCounters progress) {
        EmbedpipeConfig cfg = config;
        SerializableConf conf = new SerializableConf(spark.sparkContext().hadoopConfiguration());
        FaultInjection faults = new FaultInjection(spark.conf().get(FaultInjection.CONF_KEY, ""));
        return groups.filter(g -> !g.hit()).mapPartitions(misses -> {
            TaskContext task = TaskContext.get();
            Embedder embedder = EmbedderRegistry.get(cfg.embedder().provider()).embedder(cfg);
            Embedder.Session session = embedder.openSession(cfg, concurrentTasks);
            progress.attach(session.stats());
            CheckpointWriter checkpoint = new CheckpointWriter(output, String.format("part-%05d-attempt-%d-stage-%d-%d",
                    task.partitionId(), task.attemptNumber(), task.stageId(), task.stageAttemptNumber()), ResultRows.columns(model), conf.get(),
                    EmbedderRegistry.get(cfg.embedder().provider()).failsPerItem());
            Map<String, float[]> paidBefore = CheckpointWriter.earlierAttempts(output, task.partitionId(), task.stageId(), conf.get());
            GroupEmbedStage stage = new GroupEmbedStage(misses, session, embedder.shape(cfg, concurrentTasks),
                    allowances == null ? null : new Allowance(allowances[task.partitionId()]), request -> {
                        for (var done : request) {
                            if (!done.failed()) {
                                checkpoint.append(done.chunk().contentHash(), done.vector());
                            }
                        }
                        checkpoint.requestDone();
                    }, paidBefore, UnknownTokenCheck.of(cfg, model));
            task.addTaskCompletionListener((TaskCompletionListener) done -> {
                stage.close();
                checkpoint.close(); // also when the task fails: what was paid for is kept
                requestStats.add(session.stats());
                session.close();
            });
            return faults.wrap("embed", mapped(stage, r -> {
                if (r.origin() == GroupEmbedStage.Origin.ERROR) {
                    progress.add(Counter.ERRORS, 1);
                } else {
                    progress.add(Counter.EMBEDDED, 1);
                    progress.add(Counter.EMBEDDED_TOKENS, r.chunk().tokenCount());
                }
                String origin = switch (r.origin()) {
                    case EMBEDDED -> OutputSchemas.EMBEDDED;
                    case REUSED -> OutputSchemas.REUSED;
                    case ERROR -> OutputSchemas.ERROR;
                };
                return ResultRows.resultRow(r.chunk(), r.vector(), r.error(), origin, model);
            }));
        });
    }

    /**
     * Token allowances per partition when the run has a cap: the cap is handed out to partitions in order, each
     * getting what its missing texts need until the cap is spent. Null when there is no cap.
     */
    private static long[] allowances(JavaRDD<HashGroup> groups, EmbedpipeConfig config, int partitions) {
        long cap = tokenCap(config);
        if (cap <= 0) {
            return null;
        }
        List<Tuple2<Integer, Long>> needs = groups.filter(g -> !g.hit()).mapPartitionsWithIndex((index, it) -> {
            long tokens = 0;
            while (it.hasNext()) {
                tokens += it.next().representative().tokenCount();
            }
            return List.of(new Tuple2<>(index, tokens)).iterator();
        }, false).collect();
        long[] allowances = new long[partitions];
        long left = cap;
        List<Tuple2<Integer, Long>> inOrder = new ArrayList<>(needs);
        inOrder.sort((a, b) -> Integer.compare(a._1(), b._1()));
        for (Tuple2<Integer, Long> need : inOrder) {
            long give = Math.min(left, need._2());
            allowances[need._1()] = give;
            left -= give;
        }
        LOG.info("embedpipe: budget of {} tokens for {} needed", cap, needs.stream().mapToLong(Tuple2::_2).sum());
        return allowances;
    }

    /** The run's token cap from budget.max_total_tokens and budget.max_cost (the tighter one), 0 for none. */
    static long tokenCap(EmbedpipeConfig config) {
        return tokenCap(config, config.cost().usdPerMillionTokens());
    }

    /** The same at another price (batch mode's). */
    static long tokenCap(EmbedpipeConfig config, double usdPerMillionTokens) {
        long cap = config.budget().maxTotalTokens();
        if (config.budget().maxCost() > 0) {
            long byCost = (long) Math.floor(config.budget().maxCost() / usdPerMillionTokens * 1_000_000);
            cap = cap == 0 ? byCost : Math.min(cap, byCost);
        }
        return cap;
    }

    /** Lets chunks through while their tokens fit what is left of a partition's allowance. */
    static final class Allowance implements LongPredicate {
        private long left;

        Allowance(long tokens) {
            this.left = tokens;
        }

        @Override
        public boolean test(long tokens) {
            if (tokens > left) {
                left = 0; // stop here: later, smaller chunks would break the partition's order of work
                return false;
            }
            left -= tokens;
            return true;
        }
    }

    /** What {@code embedpipe estimate} prints: exact tokens and requests for the texts the cache misses. */
    public record Estimate(long chunks, long cacheHits, long distinctToEmbed, long tokens, long requests, int partitions) {}

    public static Estimate estimate(SparkSession spark, EmbedpipeConfig config, List<InputFile> files) {
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        EmbedderProvider provider = EmbedderRegistry.get(config.embedder().provider());
        ModelInfo model = provider.modelInfo(config);
        String output = config.output().path().isBlank() ? null
                : new OutputCommitter(config.output().path(), "estimate", spark.sparkContext().hadoopConfiguration()).outputPath();
        try (ProgressReporter progress = new ProgressReporter(spark.sparkContext(), config.progress().intervalS())) {
            Read read = read(spark, config, files, progress.counters());
            progress.phase("chunk");
            progress.documentsTotal(documentsToChunk(read));
            return estimate(read, config, model, EmbeddingCache.load(spark, config, model, output), progress.counters(),
                    Math.max(1, Math.min(jsc.defaultParallelism(), read.partitions())));
        }
    }

    private static Estimate estimate(Read read, EmbedpipeConfig config, ModelInfo model, JavaPairRDD<String, float[]> cache,
                                     ProgressCounters progress, int concurrentTasks) {
        JavaRDD<HashGroup> groups = hashGroups(read, config, model, cache, progress);
        EmbedpipeConfig cfg = config;
        List<long[]> parts = groups.mapPartitions(it -> {
            long chunks = 0;
            long hits = 0;
            List<Chunk> toEmbed = new ArrayList<>();
            long tokens = 0;
            while (it.hasNext()) {
                HashGroup g = it.next();
                chunks += g.chunks().size();
                if (g.hit()) {
                    hits += g.chunks().size();
                } else {
                    hits += g.chunks().size() - 1; // the group's other chunks reuse the one vector
                    toEmbed.add(g.representative());
                    tokens += g.representative().tokenCount();
                }
            }
            Embedder.RequestShape shape = EmbedderRegistry.get(cfg.embedder().provider()).embedder(cfg).shape(cfg, concurrentTasks);
            RequestPacker packer = new RequestPacker(toEmbed.iterator(), shape.maxInputs(), shape.maxTokens());
            long requests = 0;
            while (packer.next() != null) {
                requests++;
            }
            return List.of(new long[] {chunks, hits, toEmbed.size(), tokens, requests}).iterator();
        }).collect();
        long[] total = new long[5];
        for (long[] p : parts) {
            for (int i = 0; i < total.length; i++) {
                total[i] += p[i];
            }
        }
        return new Estimate(total[0], total[1], total[2], total[3], total[4], read.partitions());
    }

    /** Documents that reach the chunker: lines less rejected, skipped and filtered ones. */
    private static long documentsToChunk(Read read) {
        long toChunk = -read.rejectsPerFile().values().stream().mapToLong(Long::longValue).sum();
        for (ReadRecord r : read.tallies()) {
            if (r instanceof SplitTally t) {
                toChunk += t.lines() - t.skipped();
            } else if (r instanceof FilteredTally f) {
                toChunk -= f.filtered();
            }
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
