package dev.embedpipe.job;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.embedpipe.cli.EmbedpipeMain;
import dev.embedpipe.testing.DriverProcess;
import dev.embedpipe.testing.LocalFiles;
import dev.embedpipe.testing.ParquetTables;
import dev.embedpipe.testing.ScriptedBatchServer;
import dev.embedpipe.testing.ScriptedBatchServer.Script;
import dev.embedpipe.testing.ScriptedEmbeddingServer;
import org.apache.parquet.example.data.Group;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code embedder.mode=batch} end to end in local mode against the scripted Batch API server: the table equals the
 * live mode's on a real corpus, failed lines land in errors/, a run that stops waiting commits what it has and a
 * rerun collects the rest without paying again, the Airflow split (--submit-only, --collect), and a driver killed
 * after submitting whose rerun submits nothing again.
 */
class BatchModeEndToEndTest {
    @TempDir
    Path dir;
    static Path corpus;
    static Path head200;
    ScriptedBatchServer batch;

    @BeforeAll
    static void inputs() throws IOException {
        Path root = Files.createTempDirectory("batch-e2e");
        corpus = root.resolve("gsm8k_test.jsonl");
        Files.copy(dev.embedpipe.bench.BenchCorpus.gsm8kTest(), corpus);
        head200 = LocalFiles.projectHome().resolve("datasets-sample/gsm8k_test_head200.jsonl");
    }

    @BeforeEach
    void start() {
        batch = ScriptedBatchServer.start();
    }

    @AfterEach
    void stop() {
        batch.close();
    }

    private static List<String> args(Path input, Path output, String baseUrl, String... extra) {
        List<String> args = new ArrayList<>(List.of("embed", "--input", input.toString(), "--output", output.toString(),
                "--master", "local[2]", "--set", "embedder.provider=openai", "--set", "embedder.base_url=" + baseUrl,
                "--set", "embedder.model=text-embedding-3-small", "--set", "embedder.dimensions=8",
                "--set", "embedder.api_key_env=PATH", "--set", "limits.max_inputs_per_request=16",
                "--set", "limits.max_attempts=3", "--set", "limits.max_retry_wait_s=1", "--set", "cost.usd_per_million_tokens=0.02",
                "--set", "limits.batch_poll_s=1", "--set", "limits.batch_max_requests_per_file=20", "--set", "progress.interval_s=0"));
        args.addAll(List.of(extra));
        return args;
    }

    private List<String> batchArgs(Path input, Path output, String... extra) {
        List<String> args = args(input, output, batch.baseUrl(), "--set", "embedder.mode=batch");
        args.addAll(List.of(extra));
        return args;
    }

    private static int run(List<String> args) {
        return EmbedpipeMain.execute(args.toArray(String[]::new));
    }

    private static Map<String, float[]> vectorsById(Path out) throws IOException {
        Map<String, float[]> byId = new TreeMap<>();
        for (Group g : ParquetTables.rows(out.resolve("embeddings"))) {
            assertThat(byId.put(g.getString("chunk_id", 0), ParquetTables.floats(g, "embedding"))).as("one row per chunk").isNull();
        }
        return byId;
    }

    private static void assertSameTable(Map<String, float[]> expected, Path out) throws IOException {
        Map<String, float[]> actual = vectorsById(out);
        assertEquals(expected.keySet(), actual.keySet());
        expected.forEach((id, v) -> assertArrayEquals(v, actual.get(id), id));
    }

    private Map<String, float[]> syncTable(Path input) throws IOException {
        Path out = dir.resolve("sync");
        try (ScriptedEmbeddingServer live = ScriptedEmbeddingServer.start()) {
            assertEquals(0, run(args(input, out, live.baseUrl())));
        }
        return vectorsById(out);
    }

    private static JsonNode manifest(Path out) throws IOException {
        return new ObjectMapper().readTree(out.resolve("manifest.json").toFile());
    }

    @Test
    void theBatchTableEqualsTheLiveTableOnARealCorpusAndTheManifestBillsAtTheBatchPrice() throws IOException {
        Map<String, float[]> live = syncTable(corpus);
        Path out = dir.resolve("batch");
        assertEquals(0, run(batchArgs(corpus, out)));
        assertSameTable(live, out);
        assertThat(live.size()).as("chunks of gsm8k test").isGreaterThan(1000);
        JsonNode m = manifest(out);
        assertEquals(0, m.at("/requests/tokens_billed/sync").asLong());
        long billed = m.at("/requests/tokens_billed/batch").asLong();
        assertThat(billed).isPositive();
        assertEquals(billed * 0.01 / 1e6, m.at("/requests/estimated_cost_usd").asDouble(), 1e-12);
        assertEquals(batch.batchesCreated(), m.at("/batch/batches_created").asLong());
        assertThat(m.at("/batch/batches_created").asLong()).isGreaterThan(1);
        assertEquals(batch.requestLinesUploaded(), m.at("/batch/requests_submitted").asLong());
        assertThat(m.at("/totals/reconciled").asBoolean()).isTrue();
        // every distinct text was sent once
        List<String> sent = batch.inputsSubmitted();
        assertEquals(new HashSet<>(sent).size(), sent.size());
        // the journal is closed: a rerun attaches to nothing and pays for nothing (the cache has every vector)
        long created = batch.batchesCreated();
        assertEquals(0, run(batchArgs(corpus, out)));
        assertEquals(created, batch.batchesCreated());
        assertSameTable(live, out);
    }

    @Test
    void failedLinesGoToErrorsWithTheProvidersCode() throws IOException {
        batch.enqueue(1, Script.FAILED_LINES);
        Path out = dir.resolve("batch");
        assertEquals(0, run(batchArgs(head200, out, "--set", "limits.batch_max_requests_per_file=100")));
        List<Group> errors = ParquetTables.rows(out.resolve("errors"));
        assertThat(errors).isNotEmpty().allSatisfy(e -> {
            assertEquals("invalid_input", e.getString("error_class", 0));
            assertEquals("scripted: this input was refused", e.getString("message", 0));
            assertEquals(400, e.getInteger("http_status", 0));
        });
        for (Group g : ParquetTables.rows(out.resolve("embeddings"))) {
            assertArrayEquals(ScriptedEmbeddingServer.vectorFor(g.getString("text", 0), 8), ParquetTables.floats(g, "embedding"));
        }
        assertEquals(manifest(out).at("/totals/errored").asLong(), errors.size());
    }

    @Test
    void aRunThatStopsWaitingCommitsWhatItHasAndTheRerunCollectsTheRestWithoutSubmittingAgain() throws IOException {
        Map<String, float[]> live = syncTable(head200);
        batch.enqueue(1, Script.NORMAL).enqueue(1, Script.STUCK_VALIDATING);
        Path out = dir.resolve("batch");
        // two batches: one finishes, one stays validating past the (tiny) max wait
        assertEquals(EmbedpipeMain.OVER_THRESHOLD, run(batchArgs(head200, out, "--set", "limits.batch_max_requests_per_file=8",
                "--set", "limits.batch_max_wait_h=0.002")));
        List<Group> pending = ParquetTables.rows(out.resolve("errors"));
        assertThat(pending).isNotEmpty().allSatisfy(e -> assertEquals("batch_pending", e.getString("error_class", 0)));
        assertEquals("batch_pending", manifest(out).get("status").asText());
        assertThat(vectorsById(out)).isNotEmpty();
        long created = batch.batchesCreated();
        long lines = batch.requestLinesUploaded();
        // as if OpenAI finally got to the stuck batch
        batch.releaseStuck();
        assertEquals(0, run(batchArgs(head200, out, "--set", "limits.batch_max_requests_per_file=8")));
        assertEquals(created, batch.batchesCreated());
        assertEquals(lines, batch.requestLinesUploaded());
        assertSameTable(live, out);
        assertThat(ParquetTables.rows(out.resolve("errors"))).isEmpty();
    }

    @Test
    void submitOnlyThenCollectAsAnAirflowDagRunsIt() throws IOException {
        Map<String, float[]> live = syncTable(head200);
        Path out = dir.resolve("batch");
        assertEquals(0, run(batchArgs(head200, out, "--submit-only")));
        assertThat(out.resolve("manifest.json")).doesNotExist();
        long created = batch.batchesCreated();
        assertThat(created).isPositive();
        // first look: validating -> in_progress, nothing finished: commits what it has, exit 3
        assertEquals(EmbedpipeMain.OVER_THRESHOLD, run(batchArgs(head200, out, "--collect")));
        int exit = EmbedpipeMain.OVER_THRESHOLD;
        for (int look = 0; look < 5 && exit != 0; look++) {
            exit = run(batchArgs(head200, out, "--collect"));
        }
        assertEquals(0, exit);
        assertEquals(created, batch.batchesCreated());
        assertSameTable(live, out);
    }

    @Test
    void theEstimatePrintsBothPricesAndTheBudgetCapsWhatIsSubmittedAtTheBatchPrice() throws IOException {
        Path out = dir.resolve("batch");
        List<String> estimate = batchArgs(head200, out);
        estimate.set(0, "estimate");
        java.io.ByteArrayOutputStream printed = new java.io.ByteArrayOutputStream();
        java.io.PrintStream stdout = System.out;
        System.setOut(new java.io.PrintStream(printed, true, java.nio.charset.StandardCharsets.UTF_8));
        try {
            assertEquals(0, run(estimate));
        } finally {
            System.setOut(stdout);
        }
        String text = printed.toString();
        java.util.regex.Matcher tokens = java.util.regex.Pattern.compile("tokens ([\\d,]+) ").matcher(text);
        java.util.regex.Matcher live = java.util.regex.Pattern.compile("cost \\$([\\d.]+) at \\$0.02 per million").matcher(text);
        java.util.regex.Matcher half = java.util.regex.Pattern.compile("batch mode: cost \\$([\\d.]+) at \\$0.01 per million").matcher(text);
        assertThat(tokens.find() && live.find() && half.find()).as(text).isTrue();
        long estimated = Long.parseLong(tokens.group(1).replace(",", ""));
        assertEquals(estimated * 0.02 / 1e6, Double.parseDouble(live.group(1)), 1e-4);
        assertEquals(estimated * 0.01 / 1e6, Double.parseDouble(half.group(1)), 1e-4);
        assertEquals(0, batch.count("POST", "/v1/"), "an estimate calls no API");
        // a cost cap of half the batch price of the run: half the tokens are submitted, the rest not sent (exit 3)
        double cap = estimated * 0.01 / 1e6 / 2;
        assertEquals(EmbedpipeMain.OVER_THRESHOLD, run(batchArgs(head200, out, "--max-cost", String.valueOf(cap))));
        JsonNode m = manifest(out);
        assertEquals("budget_exhausted", m.get("status").asText());
        assertThat(m.at("/batch/tokens_submitted").asLong()).isLessThanOrEqualTo(estimated / 2).isGreaterThan(estimated / 4);
        assertThat(ParquetTables.rows(out.resolve("errors"))).isNotEmpty()
                .allSatisfy(e -> assertEquals("budget_exhausted", e.getString("error_class", 0)));
    }

    @Test
    void batchesListsAndCancelsWhatIsInFlightAndTheNextRunCollectsWhatCompleted() throws IOException {
        batch.hold(true);
        Path out = dir.resolve("batch");
        assertEquals(0, run(batchArgs(head200, out, "--submit-only", "--set", "limits.batch_max_requests_per_file=100")));
        String[] batches = {"batches", "--table", out.toString(), "--set", "embedder.base_url=" + batch.baseUrl(),
                "--set", "embedder.api_key_env=PATH"};
        java.io.ByteArrayOutputStream printed = new java.io.ByteArrayOutputStream();
        java.io.PrintStream stdout = System.out;
        System.setOut(new java.io.PrintStream(printed, true, java.nio.charset.StandardCharsets.UTF_8));
        try {
            assertEquals(0, EmbedpipeMain.execute(batches));
            List<String> withCancel = new ArrayList<>(List.of(batches));
            withCancel.add("--cancel");
            assertEquals(0, EmbedpipeMain.execute(withCancel.toArray(String[]::new)));
        } finally {
            System.setOut(stdout);
        }
        assertThat(printed.toString()).contains("in_progress", "1 batch(es) in flight", "cancelled", "being cancelled");
        assertEquals(1, batch.count("POST", "/v1/batches/batch_"));
        // the cancelled batch answered half its requests: the next run commits those and lists the rest as cancelled
        assertEquals(0, run(batchArgs(head200, out, "--collect")));
        List<Group> errors = ParquetTables.rows(out.resolve("errors"));
        assertThat(errors).isNotEmpty().allSatisfy(e -> assertEquals("batch_cancelled", e.getString("error_class", 0)));
        assertThat(vectorsById(out)).isNotEmpty();
        assertThat(manifest(out).at("/requests/tokens_billed/batch").asLong()).isPositive();
    }

    @Test
    void aDriverKilledAfterSubmittingIsRerunWithoutSubmittingAgain() throws Exception {
        Map<String, float[]> live = syncTable(corpus);
        batch.hold(true);
        Path out = dir.resolve("batch");
        Path log = dir.resolve("killed-driver.log");
        Process driver = DriverProcess.start(log, batchArgs(corpus, out), Map.of());
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
        while (batch.batchesCreated() == 0 && driver.isAlive() && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertTrue(driver.isAlive(), () -> "the driver ended before submitting: " + read(log));
        driver.destroyForcibly().waitFor(30, TimeUnit.SECONDS); // SIGKILL: no shutdown hook, no clean-up
        long createdBeforeKill = batch.batchesCreated();
        List<String> sentBeforeKill = batch.inputsSubmitted();
        batch.hold(false);
        assertEquals(0, run(batchArgs(corpus, out)));
        assertSameTable(live, out);
        // every text paid for once over both runs: nothing the killed driver sent was sent again
        List<String> sent = batch.inputsSubmitted();
        assertEquals(new HashSet<>(sent).size(), sent.size());
        assertThat(sent).containsAll(sentBeforeKill);
        assertThat(batch.batchesCreated()).isGreaterThanOrEqualTo(createdBeforeKill);
        JsonNode m = manifest(out);
        assertEquals(batch.batchesCreated() - createdBeforeKill, m.at("/batch/batches_created").asLong());
        assertThat(m.at("/batch/batches_attached").asLong()).isPositive();
        System.out.printf("kill-and-rerun: %d batch(es) created before the kill, %d by the rerun, %d attached; %d texts sent once each%n",
                createdBeforeKill, m.at("/batch/batches_created").asLong(), m.at("/batch/batches_attached").asLong(), sent.size());
    }

    private static String read(Path log) {
        try {
            return Files.readString(log);
        } catch (IOException e) {
            return "(no log)";
        }
    }
}
