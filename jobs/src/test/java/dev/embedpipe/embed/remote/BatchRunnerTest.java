package dev.embedpipe.embed.remote;

import dev.embedpipe.config.ConfigLoader;
import dev.embedpipe.config.EmbedpipeConfig;
import dev.embedpipe.embed.Embedder.EmbeddingError;
import dev.embedpipe.testing.ScriptedBatchServer;
import dev.embedpipe.testing.ScriptedBatchServer.Script;
import dev.embedpipe.testing.ScriptedEmbeddingServer;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The Batch API driver without Spark, against the scripted Batch API server on 127.0.0.1: files within the limits,
 * answers matched by custom_id, failed lines, expired and stuck batches, polling errors, the enqueued-token limit,
 * budgets, and reruns that attach (or adopt) instead of paying twice.
 */
class BatchRunnerTest {
    @TempDir
    Path dir;
    ScriptedBatchServer server;
    final Map<String, String> texts = new LinkedHashMap<>(); // content hash -> text
    final Map<String, float[]> vectors = new HashMap<>();
    final Map<String, EmbeddingError> errors = new HashMap<>();
    final List<String> statusLines = new ArrayList<>();

    @BeforeEach
    void start() {
        server = ScriptedBatchServer.start();
    }

    @AfterEach
    void stop() {
        server.close();
    }

    private EmbedpipeConfig config(Map<String, Object> extra) {
        Map<String, Object> values = new HashMap<>(Map.of("embedder.provider", "openai", "embedder.base_url", server.baseUrl(),
                "embedder.mode", "batch", "embedder.model", "text-embedding-3-small", "limits.max_attempts", 3,
                "limits.max_retry_wait_s", 1, "limits.batch_poll_s", 1));
        values.putAll(extra);
        return ConfigLoader.defaultsWith(values);
    }

    /** {@code n} requests of two inputs each; every text 40 characters, 10 tokens as the server counts. */
    private List<BatchRequest> requests(String run, int n, EmbedpipeConfig config) {
        List<BatchRequest> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            List<String> hashes = new ArrayList<>();
            List<String> body = new ArrayList<>();
            for (int k = 0; k < 2; k++) {
                String text = String.format("text %s %05d %d padded to forty characters", run, i, k).substring(0, 40);
                String hash = "h-" + run + "-" + i + "-" + k;
                texts.put(hash, text);
                hashes.add(hash);
                body.add(text);
            }
            out.add(BatchRequest.of(run + "-0-" + i, hashes, body, 20, new OpenAiProvider().resolved(config).embedder()));
        }
        return out;
    }

    private BatchRunner runner(EmbedpipeConfig config, String runId, long budget) {
        Configuration conf = new Configuration();
        String output = dir.resolve("out").toString();
        return new BatchRunner(new BatchApi(config), config, BatchJournal.create(output, runId, conf), BatchJournal.open(output, conf),
                8, budget, new BatchRunner.Sink() {
                    @Override
                    public void vector(String hash, float[] v) {
                        vectors.put(hash, v);
                    }

                    @Override
                    public void error(String hash, EmbeddingError e) {
                        errors.put(hash, e);
                    }
                }, statusLines::add, d -> Thread.sleep(20));
    }

    private void assertEveryVectorIsItsTexts(int expected) {
        assertThat(vectors).hasSize(expected);
        vectors.forEach((hash, v) -> assertArrayEquals(ScriptedEmbeddingServer.vectorFor(texts.get(hash), 8), v, hash));
    }

    @Test
    void requestsAreSplitIntoFilesWithinTheLimitsAndEveryAnswerIsMatchedByCustomId() {
        EmbedpipeConfig config = config(Map.of("limits.batch_max_requests_per_file", 10));
        BatchRunner.Summary s = runner(config, "run1", 0).run(requests("run1", 25, config).iterator(), BatchRunner.Step.SUBMIT_AND_WAIT);
        assertEquals(3, s.filesUploaded);
        assertEquals(3, s.batchesCreated);
        assertEquals(25, s.requestsSubmitted);
        assertEquals(3, server.batchesCreated());
        assertEquals(25, server.requestLinesUploaded());
        assertEveryVectorIsItsTexts(50);
        assertThat(errors).isEmpty();
        assertEquals(50 * 10, s.tokensBilled);
        assertThat(statusLines).anyMatch(l -> l.contains("in_progress")).anyMatch(l -> l.contains("requests"));
        // the journal holds every file's custom ids and hashes
        BatchJournal journal = BatchJournal.open(dir.resolve("out").toString(), new Configuration()).get(0);
        assertEquals(3, journal.entries().size());
        assertThat(journal.entries()).allSatisfy(e -> assertThat(e.batchId).isNotNull());
        assertEquals(List.of("h-run1-0-0", "h-run1-0-1"), journal.entries().get(0).requests.get("run1-0-0"));
        // and the batches carry the run and the file hash, for adoption
        assertThat(server.calls()).filteredOn(c -> c.method().equals("POST") && c.path().equals("/v1/batches"))
                .allSatisfy(c -> assertThat(new String(c.body())).contains("\"embedpipe_run\":\"run1\"", "\"embedpipe_file\""));
    }

    @Test
    void inputsPerBatchAndBytesPerFileAreLimitsToo() {
        EmbedpipeConfig config = config(Map.of("limits.batch_max_inputs", 10, "limits.batch_max_file_bytes", 100_000));
        BatchRunner first = runner(config, "run1", 0);
        BatchRunner.Summary s = first.run(requests("run1", 25, config).iterator(), BatchRunner.Step.SUBMIT_AND_WAIT);
        assertEquals(5, s.batchesCreated); // 5 requests (10 inputs) a batch
        first.markCommitted();
        EmbedpipeConfig small = config(Map.of("limits.batch_max_file_bytes", 1024));
        texts.clear();
        vectors.clear();
        BatchRunner.Summary t = runner(small, "run2", 0).run(requests("run2", 25, small).iterator(), BatchRunner.Step.SUBMIT_AND_WAIT);
        assertThat(t.filesUploaded).isGreaterThan(3);
        assertThat(server.calls()).filteredOn(c -> c.path().equals("/v1/files")).allSatisfy(c -> assertThat(c.body().length).isLessThan(1024 + 400));
        assertEveryVectorIsItsTexts(50);
    }

    @Test
    void failedLinesAndExpiredRequestsGoToErrorsWithTheProvidersCodeAndMessage() {
        server.enqueue(1, Script.FAILED_LINES).enqueue(1, Script.EXPIRED);
        EmbedpipeConfig config = config(Map.of("limits.batch_max_requests_per_file", 6));
        runner(config, "run1", 0).run(requests("run1", 12, config).iterator(), BatchRunner.Step.SUBMIT_AND_WAIT);
        assertEquals(24, vectors.size() + errors.size());
        // first batch: lines 2 and 5 refused
        assertThat(errors.get("h-run1-2-0").errorClass()).isEqualTo("invalid_input");
        assertThat(errors.get("h-run1-2-0").message()).isEqualTo("scripted: this input was refused");
        assertEquals(400, errors.get("h-run1-5-1").httpStatus());
        // second batch: half answered, then expired
        assertThat(vectors).containsKeys("h-run1-6-0", "h-run1-8-1");
        assertThat(errors.get("h-run1-9-0").errorClass()).isEqualTo("batch_expired");
        assertThat(errors.get("h-run1-11-1").errorClass()).isEqualTo("batch_expired");
        assertEquals(4 + 6, errors.size());
        vectors.forEach((hash, v) -> assertArrayEquals(ScriptedEmbeddingServer.vectorFor(texts.get(hash), 8), v));
    }

    @Test
    void rateLimitsAndServerErrorsOnPollingAreWaitedOut() {
        server.failPolls(429, 500, 500, 429, 503);
        EmbedpipeConfig config = config(Map.of());
        runner(config, "run1", 0).run(requests("run1", 4, config).iterator(), BatchRunner.Step.SUBMIT_AND_WAIT);
        assertEveryVectorIsItsTexts(8);
        assertThat(server.count("GET", "/v1/batches/")).isGreaterThanOrEqualTo(3 + 5);
    }

    @Test
    void aBatchStuckInValidatingBecomesPendingAtTheMaxWaitAndARerunAttachesInsteadOfSubmitting() {
        server.hold(true);
        EmbedpipeConfig config = config(Map.of("limits.batch_max_wait_h", 0.0003)); // about one second
        BatchRunner.Summary first = runner(config, "run1", 0).run(new java.util.ArrayList<>(requests("run1", 4, config)).iterator(),
                BatchRunner.Step.SUBMIT_AND_WAIT);
        assertEquals(8, first.pendingInputs);
        assertThat(errors.values()).allSatisfy(e -> assertThat(e.errorClass()).isEqualTo("batch_pending"));
        assertThat(errors.get("h-run1-0-0").message()).contains("in_progress");
        long created = server.batchesCreated();
        // the rerun: nothing new to send (the journal has every hash); it collects the same batch
        server.hold(false);
        errors.clear();
        Configuration conf = new Configuration();
        assertThat(BatchRunner.journaledHashes(BatchJournal.open(dir.resolve("out").toString(), conf))).hasSize(8);
        BatchRunner rerun = runner(config(Map.of()), "run2", 0);
        BatchRunner.Summary second = rerun.run(java.util.Collections.emptyIterator(), BatchRunner.Step.SUBMIT_AND_WAIT);
        assertEquals(created, server.batchesCreated());
        assertEquals(1, second.batchesAttached);
        assertEquals(0, second.filesUploaded);
        assertEveryVectorIsItsTexts(8);
        assertThat(errors).isEmpty();
        // once committed, a third run has nothing to attach to
        rerun.markCommitted();
        assertThat(BatchJournal.open(dir.resolve("out").toString(), conf)).isEmpty();
    }

    @Test
    void aStuckValidatingBatchIsPendingToo() {
        server.enqueue(1, Script.STUCK_VALIDATING);
        EmbedpipeConfig config = config(Map.of("limits.batch_max_wait_h", 0.0003));
        runner(config, "run1", 0).run(requests("run1", 3, config).iterator(), BatchRunner.Step.SUBMIT_AND_WAIT);
        assertThat(errors).hasSize(6);
        assertThat(errors.get("h-run1-1-0").message()).contains("validating");
    }

    @Test
    void aBatchCreatedJustBeforeACrashIsAdoptedByItsMetadata() {
        server.hold(true);
        EmbedpipeConfig config = config(Map.of());
        runner(config, "run1", 0).run(requests("run1", 4, config).iterator(), BatchRunner.Step.SUBMIT_ONLY);
        assertEquals(1, server.batchesCreated());
        // as if the driver died between POST /batches and the journal write
        Configuration conf = new Configuration();
        BatchJournal journal = BatchJournal.open(dir.resolve("out").toString(), conf).get(0);
        journal.entries().get(0).batchId = null;
        journal.entries().get(0).state = "uploaded";
        journal.save();
        server.hold(false);
        BatchRunner.Summary rerun = runner(config, "run2", 0).run(java.util.Collections.emptyIterator(), BatchRunner.Step.SUBMIT_AND_WAIT);
        assertEquals(1, rerun.batchesAdopted);
        assertEquals(1, server.batchesCreated());
        assertEveryVectorIsItsTexts(8);
    }

    @Test
    void aTokenLimitFailureReQueuesTheSameFile() {
        server.enqueue(1, Script.TOKEN_LIMIT);
        EmbedpipeConfig config = config(Map.of());
        BatchRunner.Summary s = runner(config, "run1", 0).run(requests("run1", 4, config).iterator(), BatchRunner.Step.SUBMIT_AND_WAIT);
        assertEquals(1, s.requeued);
        assertEquals(1, s.filesUploaded);
        assertEquals(2, server.batchesCreated());
        assertEveryVectorIsItsTexts(8);
        assertThat(errors).isEmpty();
    }

    @Test
    void theQueueCapSubmitsInWavesUnderTheOrganisationsLimit() {
        server.tokenLimit(100);
        EmbedpipeConfig config = config(Map.of("limits.batch_queue_tokens", 100));
        BatchRunner first = runner(config, "run1", 0);
        BatchRunner.Summary s = first.run(requests("run1", 20, config).iterator(), BatchRunner.Step.SUBMIT_AND_WAIT);
        first.markCommitted();
        assertEquals(0, s.requeued);
        assertEquals(4, s.batchesCreated); // 400 tokens in waves of 100
        assertThat(server.maxEnqueuedTokens()).isLessThanOrEqualTo(100);
        assertEveryVectorIsItsTexts(40);
        // without the cap, the organisation's limit refuses what goes over, and the run re-queues it
        texts.clear();
        vectors.clear();
        BatchRunner.Summary uncapped = runner(config(Map.of("limits.batch_max_requests_per_file", 5)), "run2", 0)
                .run(requests("run2", 20, config).iterator(), BatchRunner.Step.SUBMIT_AND_WAIT);
        assertThat(uncapped.requeued).isGreaterThan(0);
        assertEveryVectorIsItsTexts(40);
    }

    @Test
    void theBudgetCapsWhatIsSubmitted() {
        EmbedpipeConfig config = config(Map.of());
        BatchRunner.Summary s = runner(config, "run1", 50).run(requests("run1", 5, config).iterator(), BatchRunner.Step.SUBMIT_AND_WAIT);
        assertEquals(2, s.requestsSubmitted); // 20 tokens each: the third would pass 50
        assertEquals(2, server.requestLinesUploaded());
        assertEquals(4, vectors.size());
        assertEquals(6, s.budgetInputs);
        assertThat(errors.values()).allSatisfy(e -> assertThat(e.errorClass()).isEqualTo("budget_exhausted"));
    }

    @Test
    void collectLooksOnceAndLeavesWhatIsRunningPending() {
        EmbedpipeConfig config = config(Map.of());
        runner(config, "run1", 0).run(requests("run1", 4, config).iterator(), BatchRunner.Step.SUBMIT_ONLY);
        assertThat(vectors).isEmpty();
        assertThat(errors).isEmpty();
        BatchRunner.Summary look = runner(config, "run2", 0).run(java.util.Collections.emptyIterator(), BatchRunner.Step.COLLECT);
        assertEquals(8, look.pendingInputs); // one poll: validating -> in_progress
        errors.clear();
        runner(config, "run3", 0).run(java.util.Collections.emptyIterator(), BatchRunner.Step.COLLECT);
        runner(config, "run4", 0).run(java.util.Collections.emptyIterator(), BatchRunner.Step.COLLECT);
        assertEveryVectorIsItsTexts(8);
        assertEquals(1, server.batchesCreated());
    }
}
