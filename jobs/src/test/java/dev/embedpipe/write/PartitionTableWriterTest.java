package dev.embedpipe.write;

import dev.embedpipe.table.OutputSchemas;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The side table a run writes in the same pass as its embeddings ({@code errors/}), read back by Spark's own Parquet
 * reader: the same columns and types as Spark writes, one file per partition, a failed attempt leaves nothing, a
 * retried attempt replaces the earlier one's file, and a table with no rows still opens.
 */
class PartitionTableWriterTest {
    private static SparkSession spark;
    private static final String WRITE = "5a3c1e0f-0000-4000-8000-000000000001";
    private final Configuration conf = new Configuration();

    @BeforeAll
    static void start() {
        spark = SparkSession.builder().master("local[1]").appName("partition-table-writer")
                .config("spark.ui.enabled", "false").getOrCreate();
    }

    @AfterAll
    static void stop() {
        spark.stop();
    }

    private static Row error(String chunkId, String requestId) {
        return RowFactory.create(chunkId, "doc-" + chunkId, 0, "text of " + chunkId, 3, 0, 12, "hash-" + chunkId, "file:/in.jsonl",
                "{}", "http_400", 400, 1, requestId, false, "bad request", "openai", "text-embedding-3-small");
    }

    @Test
    void rowsReadBackBySparkWithTheTablesColumns(@TempDir Path dir) {
        String folder = dir.resolve("errors").toString();
        PartitionTableWriter p0 = new PartitionTableWriter(folder, WRITE, 0, 0, 10, OutputSchemas.ERRORS, "snappy", conf);
        p0.write(error("a", "req-1"));
        p0.write(error("b", null));
        p0.finish();
        PartitionTableWriter p1 = new PartitionTableWriter(folder, WRITE, 1, 0, 11, OutputSchemas.ERRORS, "zstd", conf);
        p1.write(error("c", "req-2"));
        p1.finish();
        PartitionTableWriter.completeTable(folder, OutputSchemas.ERRORS, "snappy", conf);

        var table = spark.read().parquet(folder);
        assertThat(table.schema().fieldNames()).containsExactly(OutputSchemas.ERRORS.fieldNames());
        for (var field : OutputSchemas.ERRORS.fields()) {
            assertEquals(field.dataType(), table.schema().apply(field.name()).dataType(), field.name());
        }
        List<Row> rows = table.orderBy("chunk_id").collectAsList();
        assertEquals(List.of(error("a", "req-1"), error("b", null), error("c", "req-2")), rows);
    }

    @Test
    void aFailedAttemptLeavesNothingAndARetryReplacesTheEarlierFile(@TempDir Path dir) throws IOException {
        String folder = dir.resolve("errors").toString();
        PartitionTableWriter first = new PartitionTableWriter(folder, WRITE, 3, 0, 20, OutputSchemas.ERRORS, "snappy", conf);
        first.write(error("old", null));
        first.finish(); // the task's Spark commit then failed: a retry follows
        PartitionTableWriter failed = new PartitionTableWriter(folder, WRITE, 3, 1, 21, OutputSchemas.ERRORS, "snappy", conf);
        failed.write(error("half", null));
        failed.close(); // died midway
        PartitionTableWriter retry = new PartitionTableWriter(folder, WRITE, 3, 2, 22, OutputSchemas.ERRORS, "snappy", conf);
        retry.write(error("new", null));
        retry.finish();
        PartitionTableWriter.completeTable(folder, OutputSchemas.ERRORS, "snappy", conf);

        try (Stream<Path> files = Files.list(dir.resolve("errors"))) {
            assertThat(files.map(p -> p.getFileName().toString()).filter(n -> !n.endsWith(".crc")))
                    .containsExactlyInAnyOrder("part-00003-" + WRITE + "-c000.snappy.parquet", "_SUCCESS");
        }
        assertEquals(List.of("new"), spark.read().parquet(folder).select("chunk_id").as(org.apache.spark.sql.Encoders.STRING()).collectAsList());
    }

    @Test
    void aRetryWithoutRowsRemovesTheEarlierAttemptsFile(@TempDir Path dir) {
        String folder = dir.resolve("errors").toString();
        PartitionTableWriter first = new PartitionTableWriter(folder, WRITE, 0, 0, 30, OutputSchemas.ERRORS, "snappy", conf);
        first.write(error("transient", null));
        first.finish();
        new PartitionTableWriter(folder, WRITE, 0, 1, 31, OutputSchemas.ERRORS, "snappy", conf).finish();
        PartitionTableWriter.completeTable(folder, OutputSchemas.ERRORS, "snappy", conf);

        var table = spark.read().parquet(folder);
        assertEquals(0, table.count());
        assertThat(table.schema().fieldNames()).containsExactly(OutputSchemas.ERRORS.fieldNames());
    }
}
