package dev.embedpipe.objectstore;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.embedpipe.job.DeltaOutputTest;
import dev.embedpipe.testing.DriverProcess;
import dev.embedpipe.testing.LocalFiles;
import dev.embedpipe.testing.ParquetTables;
import dev.embedpipe.testing.S3ProxyServer;
import dev.embedpipe.write.delta.DeltaSettings;
import org.apache.parquet.example.data.Group;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.S3Object;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The job reading s3a:// input and writing an s3a:// table on an S3-compatible server (S3Proxy, its own JVM), with
 * credentials from the standard provider chain (environment variables) and the endpoint from the YAML's spark.conf.
 * The table is read back with the AWS SDK, following the manifest's file list (the object-store commit), and a
 * rerun takes every vector from the previous table on S3.
 */
class ObjectStoreIT {
    static final String BUCKET = "lake";
    static final ObjectMapper JSON = new ObjectMapper();
    @TempDir
    static Path dir;
    static S3ProxyServer s3;
    static S3Client client;

    @BeforeAll
    static void startS3() throws Exception {
        s3 = S3ProxyServer.start(dir);
        client = s3.client();
        client.createBucket(b -> b.bucket(BUCKET));
        for (String name : List.of("gsm8k_test_head200.jsonl", "wordnet31_glosses_every200th.jsonl.gz")) {
            client.putObject(b -> b.bucket(BUCKET).key("in/" + name),
                    RequestBody.fromFile(LocalFiles.projectHome().resolve("datasets-sample").resolve(name)));
        }
    }

    @AfterAll
    static void stopS3() throws Exception {
        if (client != null) {
            client.close();
        }
        if (s3 != null) {
            s3.close();
        }
    }

    @Test
    void theJobReadsAndWritesS3AndTheRerunPaysForNothing() throws Exception {
        Path config = s3Config();

        JsonNode first = run(config, "first");
        assertEquals("succeeded", first.get("status").asText());
        assertEquals("manifest", first.at("/outputs/commit").asText());
        assertTrue(first.at("/totals/reconciled").asBoolean());
        assertThat(first.at("/inputs").findValuesAsText("path")).allMatch(p -> p.startsWith("s3a://lake/in/")).hasSize(2);
        Map<String, float[]> table = readTable(first, dir.resolve("first-table"));
        assertEquals(first.at("/outputs/rows").asLong(), table.size());
        assertThat(table.size()).isGreaterThan(300);
        for (float[] v : table.values()) {
            double norm = 0;
            for (float x : v) {
                norm += x * x;
            }
            assertEquals(1.0, Math.sqrt(norm), 1e-3);
        }

        JsonNode second = run(config, "second");
        assertEquals("succeeded", second.get("status").asText());
        assertThat(second.get("run_id").asText()).isNotEqualTo(first.get("run_id").asText());
        assertEquals(second.at("/totals/chunks").asLong(), second.at("/totals/cached").asLong(), "every vector from the previous table");
        Map<String, float[]> again = readTable(second, dir.resolve("second-table"));
        assertEquals(table.keySet(), again.keySet());
        table.forEach((id, v) -> assertThat(again.get(id)).containsExactly(v));
    }

    @Test
    void aDeltaTableOnS3FollowsAnEditedInput() throws Exception {
        assumeTrue(DeltaSettings.SPARK_VERSION.equals(DeltaOutputTest.sparkVersion()),
                "Delta Lake 4.2.0 runs on Spark " + DeltaSettings.SPARK_VERSION + " only");
        Path config = s3Config();
        List<String> original = Files.readAllLines(LocalFiles.projectHome().resolve("datasets-sample/gsm8k_test_head200.jsonl"));
        client.putObject(b -> b.bucket(BUCKET).key("delta-in/docs.jsonl"), RequestBody.fromString(String.join("\n", original) + "\n"));
        List<String> args = List.of("embed", "--input", "s3a://lake/delta-in/", "--output", "s3a://lake/tables/delta",
                "--config", config.toString(), "--master", "local[2]", "--set", "output.format=delta", "--set", "output.sync=mirror");
        JsonNode first = run(args, "delta-first", "tables/delta");
        assertEquals(0, first.at("/delta/version").asLong());
        Map<String, float[]> v0 = readDeltaTable("tables/delta/embeddings/", dir.resolve("delta-v0"));
        assertEquals(first.at("/outputs/rows").asLong(), v0.size());

        DeltaOutputTest.Edit edit = DeltaOutputTest.edit(original);
        client.putObject(b -> b.bucket(BUCKET).key("delta-in/docs.jsonl"), RequestBody.fromString(String.join("\n", edit.lines()) + "\n"));
        JsonNode second = run(args, "delta-second", "tables/delta");
        assertEquals(1, second.at("/delta/version").asLong());
        assertEquals("MERGE", second.at("/delta/operation").asText());
        JsonNode metrics = second.at("/delta/metrics");
        long inserted = metrics.get("numTargetRowsInserted").asLong();
        assertThat(inserted).isPositive();
        assertEquals(inserted, second.at("/totals/embedded").asLong(), "only the inserted (changed) texts were embedded");
        Map<String, float[]> v1 = readDeltaTable("tables/delta/embeddings/", dir.resolve("delta-v1"));
        assertEquals(v0.size() + inserted - metrics.get("numTargetRowsDeleted").asLong(), v1.size());
        assertEquals(second.at("/totals/embedded").asLong() + second.at("/totals/cached").asLong(), v1.size(),
                "the table holds exactly this (mirror) run's rows");
    }

    private static Path s3Config() throws IOException {
        Path config = dir.resolve("s3.yaml");
        Files.writeString(config, """
                spark:
                  conf:
                    spark.hadoop.fs.s3a.endpoint: %s
                    spark.hadoop.fs.s3a.endpoint.region: us-east-1
                    spark.hadoop.fs.s3a.path.style.access: true
                    spark.hadoop.fs.s3a.connection.ssl.enabled: false
                """.formatted(s3.endpoint()));
        return config;
    }

    /** A Delta table's latest rows: its _delta_log JSON commits replayed from S3, the files they list downloaded. */
    private static Map<String, float[]> readDeltaTable(String prefix, Path local) throws IOException {
        Files.createDirectories(local);
        List<String> commits = client.listObjectsV2Paginator(b -> b.bucket(BUCKET).prefix(prefix + "_delta_log/")).contents()
                .stream().map(S3Object::key).filter(k -> k.matches(".*/\\d{20}\\.json")).sorted().toList();
        Set<String> live = new java.util.LinkedHashSet<>();
        for (String commit : commits) {
            for (String line : client.getObjectAsBytes(b -> b.bucket(BUCKET).key(commit)).asUtf8String().split("\n")) {
                if (line.isBlank()) {
                    continue;
                }
                JsonNode action = JSON.readTree(line);
                if (action.has("add")) {
                    live.add(action.get("add").get("path").asText());
                } else if (action.has("remove")) {
                    live.remove(action.get("remove").get("path").asText());
                }
            }
        }
        assertThat(live).isNotEmpty();
        for (String file : live) {
            client.getObject(b -> b.bucket(BUCKET).key(prefix + java.net.URI.create(file).getPath()), local.resolve(file));
        }
        Map<String, float[]> vectors = new HashMap<>();
        for (Group row : ParquetTables.rows(local)) {
            assertThat(vectors.put(row.getString("chunk_id", 0), ParquetTables.floats(row, "embedding"))).isNull();
        }
        return vectors;
    }

    /** Runs the job in its own JVM, as a user would; returns the manifest read from S3. */
    private static JsonNode run(Path config, String name) throws IOException, InterruptedException {
        return run(List.of("embed", "--input", "s3a://lake/in/", "--output", "s3a://lake/tables/sample",
                "--config", config.toString(), "--master", "local[2]"), name, "tables/sample");
    }

    private static JsonNode run(List<String> args, String name, String output) throws IOException, InterruptedException {
        Path log = dir.resolve(name + ".log");
        Process driver = DriverProcess.start(log, args, Map.of(),
                Map.of("AWS_ACCESS_KEY_ID", S3ProxyServer.ACCESS_KEY, "AWS_SECRET_ACCESS_KEY", S3ProxyServer.SECRET_KEY));
        assertTrue(driver.waitFor(6, TimeUnit.MINUTES), "the job did not finish");
        assertEquals(0, driver.exitValue(), () -> readLog(log));
        assertThat(readLog(log)).doesNotContain(S3ProxyServer.SECRET_KEY);
        return JSON.readTree(client.getObjectAsBytes(b -> b.bucket(BUCKET).key(output + "/manifest.json")).asByteArray());
    }

    /** Downloads exactly the files the manifest lists (what a reader of the object-store layout does). */
    private static Map<String, float[]> readTable(JsonNode manifest, Path local) throws IOException {
        Files.createDirectories(local);
        Set<String> listed = new HashSet<>();
        for (JsonNode file : manifest.at("/files/embeddings")) {
            String key = "tables/sample/" + file.asText();
            listed.add(key);
            Path target = local.resolve(Path.of(file.asText()).getFileName().toString());
            client.getObject(b -> b.bucket(BUCKET).key(key), target);
        }
        assertThat(listed).isNotEmpty();
        // the run's folder holds no data file the manifest leaves out
        String runPrefix = "tables/sample/" + manifest.at("/outputs/embeddings").asText();
        List<String> stored = client.listObjectsV2Paginator(b -> b.bucket(BUCKET).prefix(runPrefix)).contents().stream()
                .map(S3Object::key).filter(k -> k.endsWith(".parquet")).toList();
        assertThat(stored).containsExactlyInAnyOrderElementsOf(listed);

        Map<String, float[]> vectors = new HashMap<>();
        for (Group row : ParquetTables.rows(local)) {
            float[] previous = vectors.put(row.getString("chunk_id", 0), ParquetTables.floats(row, "embedding"));
            assertThat(previous).as("chunk ids are unique").isNull();
        }
        return vectors;
    }

    private static String readLog(Path log) {
        try {
            return Files.readString(log);
        } catch (IOException e) {
            return e.toString();
        }
    }
}
