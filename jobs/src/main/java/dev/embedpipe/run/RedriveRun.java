package dev.embedpipe.run;

import dev.embedpipe.cache.EmbeddingCache;
import dev.embedpipe.chunk.Chunk;
import dev.embedpipe.config.EmbedpipeConfig;
import dev.embedpipe.embed.ChunkResult;
import dev.embedpipe.embed.EmbedderRegistry;
import dev.embedpipe.embed.HashGroup;
import dev.embedpipe.embed.UnknownTokenCheck;
import dev.embedpipe.embed.ModelInfo;
import dev.embedpipe.manifest.Manifest;
import dev.embedpipe.progress.ProgressReporter;
import dev.embedpipe.report.RequestStatsAccumulator;
import dev.embedpipe.report.ResultTallies;
import dev.embedpipe.run.step.ChunkStep;
import dev.embedpipe.run.step.EmbedStep;
import dev.embedpipe.run.step.WriteStep;
import dev.embedpipe.write.OutputCommitter;
import dev.embedpipe.table.OutputSchemas;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import scala.Tuple2;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.HashMap;
import java.util.Map;


/**
 * {@code embedpipe redrive}: sends again only the chunks in {@code OUTPUT/errors/} (with the run's own
 * configuration, from its manifest), and commits a table that holds them, with the errors that remain and the
 * manifest's counts updated. The rejects table is kept as it is.
 */
public final class RedriveRun {
    private RedriveRun() {}

    /** What a redrive did. */
    public record Result(long retried, long embedded, long reused, long stillFailing, RequestStatsSummary requests) {}

    /** The request figures a redrive prints. */
    public record RequestStatsSummary(long requests, long tokensSent) {}

    public static Result run(SparkSession spark, EmbedpipeConfig config, String table, Manifest manifest) {
        if (config.output().delta()) {
            throw new dev.embedpipe.config.ConfigException("redrive: " + table + " is a Delta table; rerun embed instead "
                    + "(documents with errored chunks kept their rows, and only what is missing is sent)");
        }
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        String runId = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC).format(Instant.now()) + "-redrive";
        OutputCommitter committer = new OutputCommitter(table, runId, spark.sparkContext().hadoopConfiguration(),
                config.output().commit());
        String output = committer.outputPath();
        String codec = config.output().compression().equals("none") ? "uncompressed" : config.output().compression();
        ModelInfo model = EmbedderRegistry.get(config.embedder().provider()).modelInfo(config);
        try {
            var conf = spark.sparkContext().hadoopConfiguration();
            Dataset<Row> errors = spark.read().parquet(OutputCommitter.liveTable(output, "errors", conf));
            int partitions = Math.max(1, jsc.defaultParallelism());
            JavaPairRDD<String, Chunk> chunks = errors.toJavaRDD().mapToPair(r -> {
                Chunk c = new Chunk(r.getAs("chunk_id"), r.getAs("doc_id"), r.<Integer>getAs("chunk_index"), r.getAs("text"),
                        r.<Integer>getAs("token_count"), r.<Integer>getAs("char_start"), r.<Integer>getAs("char_end"),
                        r.getAs("content_hash"), r.getAs("source_file"), r.getAs("metadata"), null);
                return new Tuple2<>(c.contentHash(), c);
            });
            JavaPairRDD<String, float[]> cache = EmbeddingCache.load(spark, config, model, output);
            JavaRDD<HashGroup> groups = ChunkStep.group(chunks, cache, partitions, UnknownTokenCheck.of(config, model));
            RequestStatsAccumulator requestStats = new RequestStatsAccumulator();
            spark.sparkContext().register(requestStats, "embedpipe.redrive.requests");
            ResultTallies tallies;
            try (ProgressReporter progress = new ProgressReporter(spark.sparkContext(), config.progress().intervalS())) {
                progress.phase("embed");
                JavaRDD<ChunkResult> results = EmbedStep.embed(spark, groups, config, model, output, partitions, null, requestStats,
                        progress.counters());
                // the new table: the previous one's rows as they are, and the chunks that now have a vector
                JavaRDD<Row> previous = spark.read().parquet(OutputCommitter.liveTable(output, "embeddings", conf))
                        .select(OutputSchemas.columns(OutputSchemas.EMBEDDINGS)).javaRDD();
                tallies = WriteStep.write(spark, results, previous, ResultRows.columns(model), new WriteStep.Tables(
                        committer.stagingTable("embeddings"), committer.stagingTable("errors"), EmbeddingCache.runFolder(config, runId), codec));
            }
            if (committer.manifestMode()) {
                // a manifest commit publishes a whole new run folder: the rejects come along unchanged
                spark.read().parquet(OutputCommitter.liveTable(output, "rejects", conf))
                        .write().option("compression", codec).parquet(committer.stagingTable("rejects"));
            }

            Map<String, ResultTallies.Tally> perFile = tallies.value();
            ResultTallies.Tally total = tallies.total();
            var stats = requestStats.value();
            Result result = new Result(total.chunks, total.embedded, total.cached(), total.errored,
                    new RequestStatsSummary(stats.requests(), stats.tokensSent()));
            committer.commit(updatedManifest(manifest, perFile, result, runId, config, committer));
            return result;
        } catch (Throwable e) { // SparkException is checked, yet Spark throws it from here: abort on it too
            RunningTasks.cancelAndWait(spark); // before the abort: a running task would write into staging again
            committer.abort();
            throw e;
        }
    }

    /** The run's manifest with each file's counts moved from errored to embedded/cached, and this redrive noted. */
    private static Manifest updatedManifest(Manifest manifest, Map<String, ResultTallies.Tally> perFile, Result result, String runId,
                                            EmbedpipeConfig config, OutputCommitter committer) {
        Map<String, Manifest.Counts> moved = new HashMap<>();
        for (Manifest.Input input : manifest.inputs()) {
            ResultTallies.Tally t = perFile.get(input.path());
            if (t != null) {
                moved.put(input.path(), input.counts().withRedriven(t.embedded, t.cached(), t.errored));
            }
        }
        Manifest.Counts totals = manifest.totals().withRedriven(result.embedded(), result.reused(), result.stillFailing());
        String status = totals.reconciled() && manifest.status().equals("budget_exhausted") && result.stillFailing() == 0
                ? "succeeded" : manifest.status();
        Manifest.Redrive redrive = new Manifest.Redrive(runId, Instant.now().toString(), result.retried(), result.embedded(),
                result.reused(), result.stillFailing(), result.requests().requests(), result.requests().tokensSent(),
                result.requests().tokensSent() * config.cost().usdPerMillionTokens() / 1_000_000.0);
        return manifest.withRedrive(committer::publishedTable, moved, totals, status, redrive);
    }
}
