package dev.embedpipe.embed.remote;

import dev.embedpipe.chunk.Chunk;
import dev.embedpipe.config.ConfigLoader;
import dev.embedpipe.config.EmbedpipeConfig;
import dev.embedpipe.embed.EmbedStage;
import dev.embedpipe.embed.ChunkResult;
import dev.embedpipe.embed.Embedder;
import dev.embedpipe.embed.EmbedderRegistry;
import dev.embedpipe.testing.ScriptedEmbeddingServer;
import dev.embedpipe.testing.ScriptedEmbeddingServer.Behaviour;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The remote client against a scripted server on 127.0.0.1: whatever the server does, every chunk ends in exactly
 * one place (a vector or an error), and every vector is the right one for its chunk.
 */
class RemoteEmbedderTest {
    @TempDir
    Path dir;
    private ScriptedEmbeddingServer server;

    @BeforeEach
    void start() {
        server = ScriptedEmbeddingServer.start();
    }

    @AfterEach
    void stop() {
        server.close();
    }

    private EmbedpipeConfig config(String provider, Map<String, Object> extra) {
        Map<String, Object> values = new HashMap<>(Map.of(
                "embedder.provider", provider,
                "embedder.base_url", provider.equals("tei") ? server.rootUrl() : server.baseUrl(),
                "embedder.model", "scripted-" + provider + "-" + server.port(),
                "limits.max_attempts", 4,
                "limits.request_timeout_s", 1,
                "limits.max_retry_wait_s", 2,
                "limits.max_in_flight", 3,
                "limits.max_inputs_per_request", 5));
        values.putAll(extra);
        return ConfigLoader.defaultsWith(values);
    }

    private static List<Chunk> chunks(int n) {
        List<Chunk> chunks = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            String text = "chunk number " + i + " about " + (i % 7 == 0 ? "cats" : "dogs");
            chunks.add(new Chunk("c" + i, "d" + i, 0, text, 6, 0, text.length(), "h" + i, "f", "{}", null));
        }
        return chunks;
    }

    /** Runs chunks through the embed stage as a task would, and checks the one-place rule and the vectors. */
    private List<ChunkResult> run(EmbedpipeConfig config, List<Chunk> chunks) {
        Embedder embedder = EmbedderRegistry.get(config.embedder().provider()).embedder(config);
        List<ChunkResult> out = new ArrayList<>();
        try (Embedder.Session session = embedder.openSession(config, 1);
             EmbedStage stage = new EmbedStage(chunks.iterator(), session, embedder.shape(config, 1))) {
            stage.forEachRemaining(out::add);
        }
        Set<String> seen = new HashSet<>();
        for (ChunkResult e : out) {
            assertThat(seen.add(e.chunk().chunkId())).as("chunk %s comes out once", e.chunk().chunkId()).isTrue();
            assertThat(e.vector() == null).as("a vector or an error, never both or neither").isNotEqualTo(e.error() == null);
            if (e.vector() != null) {
                assertArrayEquals(ScriptedEmbeddingServer.vectorFor(e.chunk().text(), server.dimensions()), e.vector(), 1e-6f,
                        "the right vector for " + e.chunk().chunkId());
            }
        }
        assertEquals(chunks.size(), out.size(), "every chunk comes out");
        return out;
    }

    private static long errors(List<ChunkResult> out) {
        return out.stream().filter(ChunkResult::failed).count();
    }

    @Test
    void everyRetryAfterFormIsHonouredThroughA429Storm() {
        Map<String, String>[] forms = new Map[] {
                Map.of("Retry-After", "1"),
                Map.of("Retry-After", ScriptedEmbeddingServer.httpDate(Instant.now().plusSeconds(1))),
                Map.of("retry-after-ms", "300"),
                Map.of("x-ratelimit-reset-requests", "400ms"),
                Map.of("x-ratelimit-reset-tokens", "0.5s"),
                Map.of()};
        for (Map<String, String> form : forms) {
            server.enqueue(2, Behaviour.status(429, "{\"error\":{\"message\":\"rate limited\"}}", form));
        }
        long t0 = System.nanoTime();
        // a storm longer than the attempts of one request: 12 answers of 429 in a row, then recovery
        List<ChunkResult> out = run(config("openai", Map.of("limits.max_in_flight", 1, "limits.max_attempts", 16)), chunks(20));
        assertEquals(0, errors(out));
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertThat(ms).as("the waits asked for were honoured").isGreaterThan(2 * 1000 + 300);
        assertThat(server.requests().stream().filter(r -> r.status() == 429).count()).isEqualTo(12);
    }

    @Test
    void serverErrorBurstsTimeoutsAndDroppedConnectionsAreRetried() {
        server.enqueue(3, Behaviour.status(503, "", Map.of()));
        server.enqueue(Behaviour.status(500, "{\"error\":\"boom\"}", Map.of()));
        server.enqueue(Behaviour.slow(Duration.ofSeconds(3)));
        server.enqueue(Behaviour.dropConnection());
        server.enqueue(Behaviour.truncatedBody());
        // 7 failures spread over 3 requests in flight by jittered backoff: one request may meet 4 of them, so it gets
        // more attempts than there are failures (with 4, whether a request runs out depended on timing)
        List<ChunkResult> out = run(config("openai", Map.of("limits.max_attempts", 8)), chunks(30));
        assertEquals(0, errors(out));
        assertEquals(6 + 7, server.requestCount(), "six requests, and one retry per failure");
    }

    @Test
    void badAnswersAreRetriedAndNeverBecomeWrongVectors() {
        server.enqueue(Behaviour.malformedJson());
        server.enqueue(Behaviour.wrongCount());
        server.enqueue(Behaviour.shuffledIndexes()); // a correct answer in another order: re-aligned by index
        server.enqueue(Behaviour.nanValues());
        server.enqueue(Behaviour.nullValues());
        server.enqueue(Behaviour.wrongDimensions());
        List<ChunkResult> out = run(config("openai", Map.of("embedder.dimensions", 8, "limits.max_in_flight", 1)), chunks(40));
        assertEquals(0, errors(out));
    }

    @Test
    void whatStillFailsAfterTheLastAttemptBecomesErrorsForExactlyThoseChunks() {
        server.enqueue(4, Behaviour.status(503, "overloaded", Map.of())); // one request's 4 attempts
        server.enqueue(Behaviour.status(400, "{\"error\":\"bad input\"}", Map.of())); // not retried
        List<ChunkResult> out = run(config("openai", Map.of("limits.max_in_flight", 1)), chunks(20));
        List<ChunkResult> failed = out.stream().filter(ChunkResult::failed).toList();
        assertEquals(10, failed.size(), "two requests of five");
        assertThat(failed.subList(0, 5)).allSatisfy(e -> {
            assertEquals("server_error", e.error().errorClass());
            assertEquals(503, e.error().httpStatus());
            assertEquals(4, e.error().attempts());
            assertThat(e.error().retriable()).isTrue();
        });
        assertThat(failed.subList(5, 10)).allSatisfy(e -> {
            assertEquals("http_400", e.error().errorClass());
            assertEquals(1, e.error().attempts());
            assertThat(e.error().retriable()).isFalse();
        });
        assertEquals(4 + 1 + 2, server.requestCount());
    }

    @Test
    void anAuthenticationErrorStopsWithOneClearMessageAndNoKey() throws Exception {
        Path key = dir.resolve("key");
        Files.writeString(key, "sk-test-very-secret\n");
        server.enqueue(Behaviour.status(401, "{\"error\":\"Incorrect API key provided: sk-test-very-secret\"}", Map.of()));
        ProviderFatalException e = assertThrows(ProviderFatalException.class,
                () -> run(config("openai", Map.of("embedder.api_key_file", key.toString(), "limits.max_in_flight", 1)), chunks(3)));
        assertThat(e.getMessage()).contains("HTTP 401", "embedder.api_key_file").doesNotContain("sk-test-very-secret");
        assertEquals("Bearer sk-test-very-secret", server.requests().get(0).header("authorization"));
        assertEquals(1, server.requestCount(), "never retried");
    }

    @Test
    void requestsArePackedByInputsAndTokensAndOversizeInputsNeverSent() {
        List<Chunk> chunks = new ArrayList<>(chunks(12));
        chunks.add(new Chunk("big", "dbig", 0, "far too long", 9000, 0, 12, "hbig", "f", "{}", null));
        List<ChunkResult> out = run(config("openai", Map.of("limits.max_inputs_per_request", 4, "limits.max_tokens_per_request", 18,
                "limits.max_in_flight", 2)), chunks);
        ChunkResult big = out.stream().filter(e -> e.chunk().chunkId().equals("big")).findFirst().orElseThrow();
        assertEquals("input_too_long", big.error().errorClass());
        assertThat(server.requests()).allSatisfy(r -> assertThat(r.inputCount()).isLessThanOrEqualTo(3)); // 3 x 6 tokens
        assertThat(server.requests().stream().flatMap(r -> r.inputs().stream())).doesNotContain("far too long");
        assertEquals(4, server.requestCount());
    }

    @Test
    void base64AnswersAndExtraHeadersAndAzureStyleKeys() throws Exception {
        Path key = dir.resolve("key");
        Files.writeString(key, "azure-key");
        List<ChunkResult> out = run(config("openai", Map.of("embedder.encoding_format", "base64",
                "embedder.headers", Map.of("X-Team", "search"), "embedder.api_key_file", key.toString(),
                "embedder.api_version", "2024-02-01")), chunks(7));
        assertEquals(0, errors(out));
        assertEquals("search", server.requests().get(0).header("x-team"));
        assertEquals("azure-key", server.requests().get(0).header("api-key"));
    }

    @Test
    void theTeiWireShapeWorksThroughTheSameMachinery() {
        server.enqueue(Behaviour.status(429, "", Map.of("Retry-After", "1")));
        server.enqueue(Behaviour.malformedJson());
        List<ChunkResult> out = run(config("tei", Map.of()), chunks(12));
        assertEquals(0, errors(out));
        assertThat(server.requests()).allSatisfy(r -> assertEquals("/embed", r.path()));
    }
}
