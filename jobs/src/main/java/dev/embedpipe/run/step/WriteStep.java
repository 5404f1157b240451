package dev.embedpipe.run.step;

import dev.embedpipe.cache.EmbeddingCache;
import dev.embedpipe.embed.ChunkResult;
import dev.embedpipe.report.ResultTallies;
import dev.embedpipe.run.ResultRows;
import dev.embedpipe.table.OutputSchemas;
import dev.embedpipe.util.SerializableConf;
import dev.embedpipe.util.StreamingIterator;
import dev.embedpipe.write.ModelColumns;
import dev.embedpipe.write.PartitionTableWriter;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.util.TaskCompletionListener;

/**
 * The last step of a run: every chunk's {@link ChunkResult} is written once, in the task that produced it. Vectors
 * go to {@code embeddings/} through Spark's Parquet writer; errors go beside it, in the same pass, to
 * {@code errors/} (one file per partition that has any); vectors this run paid for also go to the shared cache
 * when there is one; and each result is counted per input file for the manifest.
 */
public final class WriteStep {
    private WriteStep() {}

    /**
     * Where the results go.
     *
     * @param cacheRun the shared cache's folder for this run, or null
     */
    public record Tables(String embeddings, String errors, String cacheRun, String codec) implements java.io.Serializable {}

    /**
     * Writes the results, and {@code carriedOver} embedding rows as they are (a redrive's previous table), then
     * completes the side tables.
     *
     * @return the results counted per input file
     */
    public static ResultTallies write(SparkSession spark, JavaRDD<ChunkResult> results, JavaRDD<Row> carriedOver,
                                      ModelColumns model, Tables tables) {
        ResultTallies tallies = new ResultTallies();
        spark.sparkContext().register(tallies, "embedpipe.results");
        SerializableConf conf = new SerializableConf(spark.sparkContext().hadoopConfiguration());
        String writeId = java.util.UUID.randomUUID().toString();
        JavaRDD<Row> rows = results.mapPartitions(partition -> {
            TaskContext task = TaskContext.get();
            PartitionTableWriter errors = new PartitionTableWriter(tables.errors(), writeId, task.partitionId(), task.attemptNumber(), task.taskAttemptId(),
                    OutputSchemas.ERRORS, tables.codec(), conf.get());
            PartitionTableWriter cache = tables.cacheRun() == null ? null : new PartitionTableWriter(tables.cacheRun(),
                    writeId, task.partitionId(), task.attemptNumber(), task.taskAttemptId(), EmbeddingCache.SCHEMA, tables.codec(), conf.get());
            task.addTaskCompletionListener((TaskCompletionListener) done -> { // a failed attempt leaves no file behind
                errors.close();
                if (cache != null) {
                    cache.close();
                }
            });
            return new StreamingIterator<Row>() {
                @Override
                protected Row computeNext() {
                    while (partition.hasNext()) {
                        ChunkResult r = partition.next();
                        tallies.add(r);
                        if (r.failed()) {
                            errors.write(ResultRows.errorRow(r, model));
                            continue;
                        }
                        if (cache != null && r.origin() == ChunkResult.Origin.EMBEDDED) {
                            cache.write(ResultRows.cacheRow(r, model));
                        }
                        return ResultRows.embeddingRow(r, model);
                    }
                    errors.finish(); // every result of the partition is in: its files take their final names
                    if (cache != null) {
                        cache.finish();
                    }
                    return null;
                }
            };
        });
        if (carriedOver != null) {
            rows = rows.union(carriedOver);
        }
        spark.createDataFrame(rows, OutputSchemas.EMBEDDINGS).write().option("compression", tables.codec()).parquet(tables.embeddings());
        PartitionTableWriter.completeTable(tables.errors(), OutputSchemas.ERRORS, tables.codec(), conf.get());
        return tallies;
    }
}
