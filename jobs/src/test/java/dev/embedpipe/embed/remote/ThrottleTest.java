package dev.embedpipe.embed.remote;

import dev.embedpipe.chunk.Chunk;
import dev.embedpipe.config.ConfigLoader;
import dev.embedpipe.config.EmbedpipeConfig;
import dev.embedpipe.embed.EmbedStage;
import dev.embedpipe.embed.Embedder;
import dev.embedpipe.embed.EmbedderRegistry;
import dev.embedpipe.testing.ScriptedEmbeddingServer;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The limiter against a server that records arrival times: two tasks sharing one budget never exceed it in any
 * sliding window (a 5-second window stands in for the minute), and together they keep it busy.
 */
class ThrottleTest {
    private static final int TOKENS_PER_CHUNK = 10;
    private static final int WINDOW_S = 5;

    private static List<Chunk> chunks(String task, int n) {
        List<Chunk> chunks = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            String text = task + " chunk " + i;
            chunks.add(new Chunk(task + i, task, i, text, TOKENS_PER_CHUNK, 0, text.length(), "h", "f", "{}", null));
        }
        return chunks;
    }

    /** Runs two tasks at once against the server; returns how long they took. */
    private static double runTwoTasks(ScriptedEmbeddingServer server, Map<String, Object> limits, int chunksPerTask) throws Exception {
        Map<String, Object> values = new java.util.HashMap<>(Map.of("embedder.provider", "openai",
                "embedder.base_url", server.baseUrl(), "embedder.model", "throttle-" + server.port(),
                "limits.window_seconds", WINDOW_S, "limits.max_in_flight", 4));
        values.putAll(limits);
        EmbedpipeConfig config = ConfigLoader.defaultsWith(values);
        Embedder embedder = EmbedderRegistry.get("openai").embedder(config);
        AtomicLong failures = new AtomicLong();
        List<Thread> tasks = new ArrayList<>();
        long t0 = System.nanoTime();
        for (String task : List.of("a", "b")) {
            Thread thread = new Thread(() -> {
                try (Embedder.Session session = embedder.openSession(config, 2);
                     EmbedStage stage = new EmbedStage(chunks(task, chunksPerTask).iterator(), session, embedder.shape(config, 2))) {
                    stage.forEachRemaining(e -> failures.addAndGet(e.failed() ? 1 : 0));
                }
            });
            thread.start();
            tasks.add(thread);
        }
        for (Thread t : tasks) {
            t.join();
        }
        assertEquals(0, failures.get());
        return (System.nanoTime() - t0) / 1e9;
    }

    private static void assertNoWindowOver(List<ScriptedEmbeddingServer.Recorded> requests, long maxRequests, long maxTokens) {
        long window = WINDOW_S * 1_000_000_000L;
        for (int i = 0; i < requests.size(); i++) {
            long start = requests.get(i).nanoTime();
            long count = 0;
            long tokens = 0;
            for (int j = i; j < requests.size() && requests.get(j).nanoTime() < start + window; j++) {
                count++;
                tokens += (long) requests.get(j).inputCount() * TOKENS_PER_CHUNK;
            }
            if (maxRequests > 0) {
                assertThat(count).as("requests in the window from request %d", i).isLessThanOrEqualTo(maxRequests);
            }
            if (maxTokens > 0) {
                assertThat(tokens).as("tokens in the window from request %d", i).isLessThanOrEqualTo(maxTokens);
            }
        }
    }

    @Test
    void aRequestBudgetIsSharedAndNeverExceeded() throws Exception {
        try (ScriptedEmbeddingServer server = ScriptedEmbeddingServer.start()) {
            // 80 requests per 5 s for the job; one input per request
            double seconds = runTwoTasks(server, Map.of("limits.requests_per_minute", 80, "limits.max_inputs_per_request", 1), 120);
            List<ScriptedEmbeddingServer.Recorded> requests = server.requests();
            assertEquals(240, requests.size());
            assertNoWindowOver(requests, 80, 0);
            assertThat(requests.stream().filter(r -> r.inputs().get(0).startsWith("a ")).count()).isEqualTo(120);
            double rate = requests.size() / seconds * WINDOW_S;
            assertThat(rate).as("requests per window, both tasks together").isGreaterThan(0.8 * 80);
        }
    }

    @Test
    void aTokenBudgetIsSharedAndNeverExceeded() throws Exception {
        try (ScriptedEmbeddingServer server = ScriptedEmbeddingServer.start()) {
            // 4000 tokens per 5 s; each task's burst is 40 tokens, so requests carry at most 4 chunks
            double seconds = runTwoTasks(server, Map.of("limits.tokens_per_minute", 4000, "limits.max_inputs_per_request", 50), 300);
            List<ScriptedEmbeddingServer.Recorded> requests = server.requests();
            assertNoWindowOver(requests, 0, 4000);
            assertThat(requests).allSatisfy(r -> assertThat(r.inputCount() * TOKENS_PER_CHUNK).isLessThanOrEqualTo(40));
            double tokensPerWindow = 600 * TOKENS_PER_CHUNK / seconds * WINDOW_S;
            assertThat(tokensPerWindow).isGreaterThan(0.8 * 4000);
        }
    }
}
