package dev.embedpipe.objectstore;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.embedpipe.testing.DriverProcess;
import dev.embedpipe.testing.LocalFiles;
import dev.embedpipe.testing.ParquetTables;
import dev.embedpipe.testing.S3ProxyServer;
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
        Path config = dir.resolve("s3.yaml");
        Files.writeString(config, """
                spark:
                  conf:
                    spark.hadoop.fs.s3a.endpoint: %s
                    spark.hadoop.fs.s3a.endpoint.region: us-east-1
                    spark.hadoop.fs.s3a.path.style.access: true
                    spark.hadoop.fs.s3a.connection.ssl.enabled: false
                """.formatted(s3.endpoint()));

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

    /** Runs the job in its own JVM, as a user would; returns the manifest read from S3. */
    private static JsonNode run(Path config, String name) throws IOException, InterruptedException {
        Path log = dir.resolve(name + ".log");
        Process driver = DriverProcess.start(log, List.of("embed", "--input", "s3a://lake/in/", "--output", "s3a://lake/tables/sample",
                        "--config", config.toString(), "--master", "local[2]"), Map.of(),
                Map.of("AWS_ACCESS_KEY_ID", S3ProxyServer.ACCESS_KEY, "AWS_SECRET_ACCESS_KEY", S3ProxyServer.SECRET_KEY));
        assertTrue(driver.waitFor(6, TimeUnit.MINUTES), "the job did not finish");
        assertEquals(0, driver.exitValue(), () -> readLog(log));
        assertThat(readLog(log)).doesNotContain(S3ProxyServer.SECRET_KEY);
        return JSON.readTree(client.getObjectAsBytes(b -> b.bucket(BUCKET).key("tables/sample/manifest.json")).asByteArray());
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
