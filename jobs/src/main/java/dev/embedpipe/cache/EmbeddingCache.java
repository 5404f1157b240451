package dev.embedpipe.cache;

import dev.embedpipe.config.EmbedpipeConfig;
import dev.embedpipe.embed.ModelInfo;
import dev.embedpipe.write.CheckpointWriter;
import dev.embedpipe.write.OutputCommitter;
import dev.embedpipe.table.DeltaLog;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Tuple2;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

import static org.apache.spark.sql.functions.col;

/**
 * The content-addressed embedding cache: vectors keyed by (provider, model, dimensions, tokenizer, SHA-256 of the
 * cleaned chunk text). Its sources are Parquet tables that any run already wrote: {@code cache.table} when set (a
 * shared cache each run extends) or else the previous table in the same output, plus the checkpoints of runs that
 * were interrupted. A different provider, model, dimension or tokenizer simply misses.
 */
public final class EmbeddingCache {
    private static final Logger LOG = LoggerFactory.getLogger(EmbeddingCache.class);
    public static final String[] COLUMNS = {"content_hash", "provider", "model", "tokenizer", "dimensions", "embedding"};

    private EmbeddingCache() {}

    /**
     * (content hash, vector) for this model from every source that exists; empty when caching is off.
     * {@code output} may be null (an estimate without an output folder).
     */
    public static JavaPairRDD<String, float[]> load(SparkSession spark, EmbedpipeConfig config, ModelInfo model, String output) {
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        JavaPairRDD<String, float[]> none = JavaPairRDD.fromJavaRDD(jsc.emptyRDD());
        if (!config.cache().enabled()) {
            return none;
        }
        List<String> sources = new ArrayList<>();
        if (!config.cache().table().isBlank()) {
            sources.add(config.cache().table());
        } else if (output != null) {
            String previous = OutputCommitter.liveTable(output, "embeddings", spark.sparkContext().hadoopConfiguration());
            if (previous != null) {
                sources.add(previous);
            }
        }
        if (output != null) {
            sources.add(new Path(output, CheckpointWriter.FOLDER).toString());
        }
        Dataset<Row> all = null;
        for (String source : sources) {
            if (!hasParquet(spark, source)) {
                continue;
            }
            // A Delta table (output.format=delta): the files of its latest version, from its log; none before its
            // first commit (a killed first run may have left data files that no version lists).
            DeltaLog delta = DeltaLog.isDeltaTable(source, spark.sparkContext().hadoopConfiguration())
                    ? DeltaLog.open(source, spark.sparkContext().hadoopConfiguration()) : null;
            String[] paths = delta == null ? new String[] {source}
                    : delta.latestVersion() < 0 ? new String[0]
                    : delta.liveFiles(-1).stream().map(Path::toString).toArray(String[]::new);
            if (paths.length == 0) {
                continue;
            }
            Dataset<Row> rows;
            try {
                // A damaged or foreign file in a cache source costs a cache miss, never the run.
                rows = spark.read().option("ignoreCorruptFiles", "true").parquet(paths).select(columns());
            } catch (Exception notATable) { // AnalysisException is a checked Exception in Java terms
                LOG.warn("embedpipe: {} is not usable as an embedding cache, ignored: {}", source, notATable.getMessage());
                continue;
            }
            all = all == null ? rows : all.unionByName(rows);
            LOG.info("embedpipe: cache source {}", source);
        }
        if (all == null) {
            return none;
        }
        Column sameModel = col("provider").equalTo(model.provider()).and(col("model").equalTo(model.model()))
                .and(col("tokenizer").equalTo(model.tokenizer().name()));
        if (model.dimensions() > 0) {
            sameModel = sameModel.and(col("dimensions").equalTo(model.dimensions()));
        }
        return all.filter(sameModel).select("content_hash", "embedding").toJavaRDD()
                .mapToPair(row -> new Tuple2<>(row.getString(0), toFloats(row.getList(1))));
    }

    /** The columns of the shared cache's table, as the embeddings table has them. */
    public static final org.apache.spark.sql.types.StructType SCHEMA = new org.apache.spark.sql.types.StructType(
            java.util.Arrays.stream(COLUMNS).map(c -> dev.embedpipe.table.OutputSchemas.EMBEDDINGS.apply(c))
                    .toArray(org.apache.spark.sql.types.StructField[]::new));

    /**
     * Where this run adds its newly paid vectors to the shared cache table (one folder per run, so runs never clash),
     * or null when there is no shared cache ({@code cache.table} unset or caching off).
     */
    public static String runFolder(EmbedpipeConfig config, String runId) {
        if (!config.cache().enabled() || config.cache().table().isBlank()) {
            return null;
        }
        return new Path(config.cache().table(), "run=" + runId).toString();
    }

    private static Column[] columns() {
        Column[] columns = new Column[COLUMNS.length];
        for (int i = 0; i < COLUMNS.length; i++) {
            columns[i] = col(COLUMNS[i]);
        }
        return columns;
    }

    private static boolean hasParquet(SparkSession spark, String source) {
        try {
            Path path = new Path(source);
            FileSystem fs = path.getFileSystem(spark.sparkContext().hadoopConfiguration());
            if (!fs.exists(path)) {
                return false;
            }
            var files = fs.listFiles(path, true);
            while (files.hasNext()) {
                String name = files.next().getPath().getName();
                if (name.endsWith(".parquet") && !name.startsWith(".") && !name.startsWith("_")) {
                    return true;
                }
            }
            return false;
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("cannot look into the cache source " + source, e);
        }
    }

    private static float[] toFloats(List<Object> values) {
        float[] v = new float[values.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = ((Number) values.get(i)).floatValue();
        }
        return v;
    }
}
