package dev.embedpipe.write.delta;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.embedpipe.config.ConfigException;
import dev.embedpipe.table.DeltaLog;
import dev.embedpipe.write.ModelColumns;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;

import static org.apache.spark.sql.functions.lit;

/**
 * {@code OUTPUT/embeddings/} as a Delta Lake table, updated by document with one commit per run:
 * <ul>
 *   <li>the first run (or {@code --rebuild}) writes every row as one version;</li>
 *   <li>later runs MERGE on {@code chunk_id}: chunks of new and changed documents are inserted, chunks of a synced
 *       document that this run no longer produces are deleted, rows whose metadata or source_file changed are
 *       updated; unchanged rows match no clause, so they are not rewritten and never reach the change feed.</li>
 * </ul>
 * A chunk id hashes the document id, the chunk's position and its text, so a changed text is a new id: matched rows
 * always carry the same text and vector. Documents the caller protects (rejected lines, errored chunks) keep their
 * previous rows. Each commit carries Delta's txnAppId/txnVersion (the table's version when the run started, plus one),
 * so a retried commit of the same run is skipped by Delta instead of applied twice.
 * Delta classes are reached through Spark's DataFrame and SQL APIs only: this package compiles without Delta.
 */
public final class DeltaOutput {
    private static final Logger LOG = LoggerFactory.getLogger(DeltaOutput.class);
    private static final String TXN_APP_ID = "spark.databricks.delta.write.txnAppId";
    private static final String TXN_VERSION = "spark.databricks.delta.write.txnVersion";
    private static final String DELETE = "_embedpipe_delete";
    /** Every commit's txnAppId starts with this (then the table path). */
    public static final String APP_ID_PREFIX = DeltaLog.APP_ID_PREFIX;
    private static final List<String> METRICS = List.of("numTargetRowsInserted", "numTargetRowsDeleted",
            "numTargetRowsUpdated", "numTargetRowsCopied", "numSourceRows", "numOutputRows");

    private final SparkSession spark;
    private final String table;
    private final long startVersion;
    private final String appId;

    /** What a run committed, for the manifest and the summary. */
    public record Commit(long version, long previousVersion, String operation, String appId, long txnVersion,
                         boolean applied, JsonNode metrics, String sync, boolean mirrorDeletes) {
        public dev.embedpipe.manifest.Manifest.Delta toManifest() {
            java.util.LinkedHashMap<String, Long> counts = new java.util.LinkedHashMap<>();
            metrics.properties().forEach(m -> counts.put(m.getKey(), m.getValue().asLong()));
            return new dev.embedpipe.manifest.Manifest.Delta("embeddings/", version, previousVersion, operation, sync,
                    mirrorDeletes, appId, txnVersion, applied, counts);
        }
    }

    private DeltaOutput(SparkSession spark, String table, long startVersion) {
        this.spark = spark;
        this.table = table;
        this.startVersion = startVersion;
        // One application id per table: Delta keeps the highest txnVersion seen for it.
        this.appId = APP_ID_PREFIX + table;
    }

    /**
     * Opens (or prepares to create) {@code OUTPUT/embeddings/} and checks what can be checked before anything is
     * paid for: Delta on the classpath, the Spark it runs on, and that the table was embedded with {@code model}.
     *
     * @throws ConfigException (exit 2) on a mismatch
     */
    public static DeltaOutput open(SparkSession spark, String output, ModelColumns model, boolean rebuild) {
        DeltaSettings.requireRuntime(spark.version());
        String table = new Path(output, "embeddings").toString();
        Configuration conf = spark.sparkContext().hadoopConfiguration();
        long version = -1;
        if (DeltaLog.isDeltaTable(table, conf)) {
            version = DeltaLog.open(table, conf).latestVersion();
        } else if (hasEntries(table, conf)) {
            throw new ConfigException("output.format=delta: " + table + " is a Parquet table from an earlier run; "
                    + "write the Delta table to a new output folder");
        }
        DeltaOutput out = new DeltaOutput(spark, table, version);
        if (!rebuild) {
            out.requireSameModel(model);
        }
        return out;
    }

    /** The version the run started from, -1 when the table does not exist yet. */
    public long startVersion() {
        return startVersion;
    }

    /**
     * @throws ConfigException (exit 2) when the table's rows were embedded by another provider, model, tokenizer or
     *                         dimension count (dimensions are compared when {@code model} knows them)
     */
    public void requireSameModel(ModelColumns model) {
        if (startVersion < 0) {
            return;
        }
        List<Row> models = current().select("provider", "model", "tokenizer", "dimensions").distinct().limit(2).collectAsList();
        for (Row r : models) {
            boolean same = r.getString(0).equals(model.provider()) && r.getString(1).equals(model.model())
                    && r.getString(2).equals(model.tokenizer())
                    && (model.dimensions() <= 0 || r.getInt(3) == model.dimensions());
            if (!same) {
                throw new ConfigException("output.format=delta: " + table + " holds vectors of " + r.getString(0) + " "
                        + r.getString(1) + " (" + r.getInt(3) + " dims, tokenizer " + r.getString(2) + "), this run embeds with "
                        + model.provider() + " " + model.model() + " (" + (model.dimensions() <= 0 ? "?" : model.dimensions())
                        + " dims, tokenizer " + model.tokenizer() + "); rerun with --rebuild to replace every row");
            }
        }
    }

    /**
     * Commits this run as one Delta version.
     *
     * @param rows       this run's embeddings (the table's columns), every document's chunks that got a vector
     * @param seen       doc_id of every document this run read (filtered ones included)
     * @param protectedDocs doc_id of documents that keep their previous rows (errored chunks, rejected lines)
     * @param mirror     also delete documents this run did not see ({@code output.sync=mirror}); the caller passes
     *                   false when rejected lines of unknown documents make "not seen" uncertain
     * @param rebuild    replace every row
     */
    public Commit commit(Dataset<Row> rows, Dataset<Row> seen, Dataset<Row> protectedDocs, String sync, boolean mirror,
                         boolean rebuild) {
        long txnVersion = startVersion + 1;
        long before = DeltaLog.open(table, spark.sparkContext().hadoopConfiguration()).latestVersion();
        Dataset<Row> kept = rows.join(protectedDocs, rows.col("doc_id").equalTo(protectedDocs.col("doc_id")), "left_anti")
                .dropDuplicates("chunk_id"); // duplicate_ids=allow can repeat a chunk id; MERGE needs one source row each
        String operation;
        if (startVersion < 0 || rebuild) {
            operation = startVersion < 0 ? "WRITE (create)" : "WRITE (rebuild)";
            kept.write().format("delta").mode(startVersion < 0 ? "append" : "overwrite")
                    .option("overwriteSchema", "true")
                    .option("txnAppId", appId).option("txnVersion", txnVersion).save(table);
        } else {
            operation = "MERGE";
            merge(kept, seen, protectedDocs, mirror, txnVersion);
        }
        DeltaLog log = DeltaLog.open(table, spark.sparkContext().hadoopConfiguration());
        long version = log.latestVersion();
        boolean applied = version > before;
        if (!applied) {
            LOG.warn("embedpipe: Delta skipped the commit of txnVersion {} for {}: it was applied before", txnVersion, appId);
        }
        JsonNode info = log.commitInfo(version).path("operationMetrics");
        ObjectNode metrics = new ObjectMapper().createObjectNode();
        for (String m : METRICS) {
            if (info.has(m)) {
                metrics.put(m, info.get(m).asLong());
            }
        }
        if (!info.has("numTargetRowsInserted") && info.has("numOutputRows")) {
            metrics.put("numTargetRowsInserted", info.get("numOutputRows").asLong()); // a write inserts every row
        }
        LOG.info("embedpipe: Delta {} committed version {} of {}: {}", operation, version, table, metrics);
        return new Commit(version, startVersion, operation, appId, txnVersion, applied, metrics, sync, mirror);
    }

    /**
     * One MERGE. Its source is this run's rows plus a delete marker for each stale row: a row of a synced document
     * (seen and not protected; with mirror, every unprotected document in the table) whose chunk id this run did
     * not produce. Marking stale rows in the source keeps the MERGE to the files that hold changed rows.
     */
    private void merge(Dataset<Row> kept, Dataset<Row> seen, Dataset<Row> protectedDocs, boolean mirror, long txnVersion) {
        Dataset<Row> target = current().select("chunk_id", "doc_id");
        Dataset<Row> synced = (mirror ? target.select("doc_id") : seen.select("doc_id")).distinct()
                .join(protectedDocs, "doc_id", "left_anti");
        Dataset<Row> stale = target.join(synced, "doc_id").join(kept.select("chunk_id"), "chunk_id", "left_anti")
                .select("chunk_id").withColumn(DELETE, lit(true));
        Dataset<Row> source = kept.withColumn(DELETE, lit(false)).unionByName(stale, true);
        String view = "embedpipe_merge_source_" + Math.abs((long) table.hashCode()) + "_" + txnVersion;
        source.createOrReplaceTempView(view);
        String[] columns = kept.columns();
        String set = Arrays.stream(columns).map(c -> "t.`" + c + "` = s.`" + c + "`").collect(Collectors.joining(", "));
        String names = Arrays.stream(columns).map(c -> "`" + c + "`").collect(Collectors.joining(", "));
        String values = Arrays.stream(columns).map(c -> "s.`" + c + "`").collect(Collectors.joining(", "));
        String sql = "MERGE INTO delta.`" + table + "` t USING " + view + " s ON t.chunk_id = s.chunk_id"
                + " WHEN MATCHED AND s." + DELETE + " THEN DELETE"
                + " WHEN MATCHED AND NOT (t.metadata <=> s.metadata AND t.source_file <=> s.source_file) THEN UPDATE SET " + set
                + " WHEN NOT MATCHED AND NOT s." + DELETE + " THEN INSERT (" + names + ") VALUES (" + values + ")";
        spark.conf().set(TXN_APP_ID, appId);
        spark.conf().set(TXN_VERSION, String.valueOf(txnVersion));
        try {
            spark.sql(sql);
        } finally {
            spark.conf().unset(TXN_APP_ID);
            spark.conf().unset(TXN_VERSION);
            spark.catalog().dropTempView(view);
        }
    }

    /** The table's rows at the version the run started from. */
    private Dataset<Row> current() {
        return spark.read().format("delta").option("versionAsOf", startVersion).load(table);
    }

    private static boolean hasEntries(String table, Configuration conf) {
        try {
            Path path = new Path(table);
            FileSystem fs = path.getFileSystem(conf);
            return fs.exists(path) && fs.listStatus(path).length > 0;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot look into " + table, e);
        }
    }
}
