package dev.embedpipe.run;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.embedpipe.config.EmbedpipeConfig;
import dev.embedpipe.embed.ModelInfo;
import dev.embedpipe.read.Document;
import dev.embedpipe.read.Reject;
import dev.embedpipe.run.step.ReadStep;
import dev.embedpipe.write.delta.DeltaOutput;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;


/**
 * The part of {@code embed} that turns one run's results into a Delta commit ({@code output.format=delta}): which
 * documents the run saw, and which keep their previous rows because the run could not produce them whole.
 */
public final class DeltaRun {
    private static final Logger LOG = LoggerFactory.getLogger(DeltaRun.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    private DeltaRun() {}

    static DeltaOutput.Commit commit(SparkSession spark, DeltaOutput delta, EmbedpipeConfig config, ModelInfo recorded,
                                     ReadStep.Read read, Dataset<Row> errors, Dataset<Row> written) {
        if (!config.output().rebuild()) {
            delta.requireSameModel(ResultRows.columns(recorded)); // the dimensions are known now that vectors came back
        }
        String idField = config.input().idField();
        JavaRDD<Reject> rejects = read.spread().filter(r -> r instanceof Reject).map(r -> (Reject) r);
        long unknown = rejects.filter(r -> docIdOf(r, idField) == null).count();
        Dataset<Row> rejectedDocs = spark.createDataset(rejects.map(r -> docIdOf(r, idField)).filter(id -> id != null).rdd(),
                Encoders.STRING()).toDF("doc_id");
        Dataset<Row> protectedDocs = errors.select("doc_id")
                .union(rejectedDocs).distinct();
        Dataset<Row> seen = spark.createDataset(read.spread().filter(r -> r instanceof Document)
                .map(r -> ((Document) r).docId()).rdd(), Encoders.STRING()).toDF("doc_id");
        boolean mirror = config.output().sync().equals("mirror");
        if (mirror && unknown > 0) {
            // A rejected line whose id cannot be read may be a document the table holds: deleting it would be a loss.
            LOG.warn("embedpipe: output.sync=mirror: {} rejected line(s) name no readable document id; this run deletes "
                    + "no unseen document (see rejects/)", unknown);
            mirror = false;
        }
        return delta.commit(written, seen, protectedDocs, config.output().sync(), mirror, config.output().rebuild());
    }

    /** The document id a rejected line names, when its excerpt is JSON carrying it; else null. */
    static String docIdOf(Reject reject, String idField) {
        try {
            JsonNode line = JSON.readTree(reject.excerpt());
            JsonNode id = line == null ? null : line.get(idField);
            return id != null && (id.isTextual() || id.isNumber()) ? id.asText() : null;
        } catch (Exception notJson) { // a truncated or broken line: its document is unknown
            return null;
        }
    }
}
