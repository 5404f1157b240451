package dev.embedpipe.job;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.embedpipe.cli.EmbedpipeMain;
import dev.embedpipe.testing.LocalFiles;
import dev.embedpipe.testing.ParquetTables;
import dev.embedpipe.testing.ScriptedEmbeddingServer;
import dev.embedpipe.testing.ScriptedEmbeddingServer.Behaviour;
import org.apache.parquet.example.data.Group;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The whole job in local mode with the openai provider pointed at a scripted loopback server: vectors land with
 * their chunks, what keeps failing lands in errors/, the manifest accounts for requests and cost, and the API key
 * passed to executors never reaches Spark's event log.
 */
class RemoteEmbedJobTest {
    private static final String SECRET = "sk-test-do-not-log-4242";
    @TempDir
    static Path dir;
    static ScriptedEmbeddingServer server;
    static Path output;
    static JsonNode manifest;
    static int exit;

    @BeforeAll
    static void run() throws IOException {
        server = ScriptedEmbeddingServer.start();
        // one task, one request at a time: the first request meets a 429 and recovers, the second fails all 4 attempts
        server.enqueue(Behaviour.status(429, "", Map.of("Retry-After", "1")));
        server.enqueue(Behaviour.normal());
        server.enqueue(4, Behaviour.status(503, "overloaded", Map.of()));
        Path keyFile = dir.resolve("openai.key");
        Files.writeString(keyFile, SECRET);
        Path events = dir.resolve("events");
        Files.createDirectories(events);
        output = dir.resolve("out");
        Map<String, String> props = Map.of("spark.eventLog.enabled", "true", "spark.eventLog.dir", events.toUri().toString(),
                "spark.eventLog.compress", "false",
                "spark.executorEnv.OPENAI_API_KEY", SECRET);
        props.forEach(System::setProperty);
        try {
            exit = EmbedpipeMain.execute("embed", "--input", LocalFiles.projectHome().resolve("datasets-sample/gsm8k_test_head200.jsonl").toString(),
                    "--output", output.toString(), "--master", "local[1]", "--set", "limits.max_in_flight=1",
                    "--set", "embedder.provider=openai", "--set", "embedder.base_url=" + server.baseUrl(),
                    "--set", "embedder.model=text-embedding-3-small", "--set", "embedder.dimensions=8",
                    "--set", "embedder.api_key_file=" + keyFile, "--set", "limits.max_inputs_per_request=10",
                    "--set", "limits.max_attempts=4", "--set", "limits.max_retry_wait_s=1",
                    "--set", "limits.requests_per_minute=6000", "--set", "cost.usd_per_million_tokens=0.02");
        } finally {
            props.keySet().forEach(System::clearProperty);
        }
        manifest = new ObjectMapper().readTree(output.resolve("manifest.json").toFile());
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @Test
    void everyChunkIsEmbeddedWithItsOwnVectorOrListedAsAnError() throws IOException {
        assertEquals(0, exit);
        List<Group> rows = ParquetTables.rows(output.resolve("embeddings"));
        List<Group> errors = ParquetTables.rows(output.resolve("errors"));
        assertEquals(10, errors.size(), "the one request that failed every attempt");
        for (Group e : errors) {
            assertEquals("server_error", e.getString("error_class", 0));
            assertEquals(503, e.getInteger("http_status", 0));
            assertEquals(4, e.getInteger("attempts", 0));
            assertThat(e.getBoolean("retriable", 0)).isTrue();
        }
        Set<String> ids = new HashSet<>();
        for (Group row : rows) {
            assertArrayEquals(ScriptedEmbeddingServer.vectorFor(row.getString("text", 0), 8), ParquetTables.floats(row, "embedding"), 1e-6f);
            assertEquals("openai", row.getString("provider", 0));
            assertEquals("cl100k_base", row.getString("tokenizer", 0));
            ids.add(row.getString("chunk_id", 0));
        }
        errors.forEach(e -> assertThat(ids.add(e.getString("chunk_id", 0))).as("in one place only").isTrue());
        assertEquals(195, ids.size());
    }

    /** The server's request log as a counter: each distinct text with a vector was answered once, never sent twice. */
    @Test
    void nothingIsEmbeddedTwice() throws IOException {
        assertEquals(0, exit);
        Map<String, Long> answered = new HashMap<>();
        server.requests().stream().filter(req -> req.status() == 200)
                .forEach(req -> req.inputs().forEach(text -> answered.merge(text, 1L, Long::sum)));
        assertThat(answered).allSatisfy((text, times) -> assertThat(times).as(text).isEqualTo(1L));
        Set<String> texts = new HashSet<>();
        ParquetTables.rows(output.resolve("embeddings")).forEach(row -> texts.add(row.getString("text", 0)));
        assertEquals(texts, answered.keySet(), "the texts answered are exactly the table's distinct texts");
        long failedTexts = ParquetTables.rows(output.resolve("errors")).stream().map(e -> e.getString("text", 0)).distinct().count();
        assertEquals(manifest.at("/requests/inputs_sent").asLong(),
                answered.size() + server.requests().stream().filter(req -> req.status() != 200).mapToLong(r -> r.inputCount()).sum(),
                "every input sent is one answered text or one attempt of a failed request");
        assertThat(failedTexts).isPositive();
    }

    @Test
    void theManifestReconcilesAndCountsRequestsRetriesAndCost() {
        JsonNode t = manifest.get("totals");
        assertThat(t.get("reconciled").asBoolean()).isTrue();
        assertEquals(195, t.get("chunks").asLong());
        assertEquals(185, t.get("embedded").asLong());
        assertEquals(10, t.get("errored").asLong());
        JsonNode r = manifest.get("requests");
        long sentToServer = server.requestCount();
        assertEquals(sentToServer, r.get("requests").asLong());
        assertEquals(1, r.get("throttled_429").asLong());
        assertEquals(4, r.get("server_errors").asLong());
        assertEquals(4, r.get("retries").asLong());
        assertThat(r.get("tokens_sent").asLong()).isGreaterThan(t.get("tokens").asLong());
        assertEquals(r.get("tokens_sent").asLong() * 0.02 / 1e6, r.get("estimated_cost_usd").asDouble(), 1e-12);
        assertEquals(8, manifest.at("/model/dimensions").asInt());
        assertThat(r.get("seconds_throttled").asDouble()).isGreaterThanOrEqualTo(1.0);
    }

    @Test
    void theKeyReachesTheServerButNeverTheEventLogOrTheManifest() throws IOException {
        assertThat(server.requests()).allSatisfy(req -> assertEquals("Bearer " + SECRET, req.header("authorization")));
        assertThat(Files.readString(output.resolve("manifest.json"))).doesNotContain(SECRET);
        try (Stream<Path> logs = Files.walk(dir.resolve("events"))) {
            List<Path> files = logs.filter(Files::isRegularFile).toList();
            StringBuilder all = new StringBuilder();
            for (Path log : files) {
                all.append(Files.readString(log));
            }
            assertThat(all.toString()).as("event log files %s", files)
                    .contains("spark.executorEnv.OPENAI_API_KEY").contains("redacted").doesNotContain(SECRET);
        }
    }
}
