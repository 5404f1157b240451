package dev.embedpipe.embed;

import dev.embedpipe.chunk.Chunk;
import dev.embedpipe.config.ConfigLoader;
import dev.embedpipe.config.EmbedpipeConfig;
import dev.embedpipe.testing.MixedLengthCorpus;
import dev.embedpipe.tokenize.Tokenizers;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The local model's batches shaped by tokens ({@link EmbedStage} with {@link PaddedBatchPlan}), on the real
 * all-MiniLM-L6-v2 and a real mixed-length corpus: original order out, the window bound held, every model call
 * within its padded-token budget and row cap, and the same vectors as batching in arrival order.
 */
class TokenShapedBatchesTest {
    private static final EmbedpipeConfig CONFIG = ConfigLoader.defaultsWith(Map.of());
    private static Embedder embedder;
    private static List<Chunk> chunks;

    @BeforeAll
    static void corpus() {
        embedder = EmbedderRegistry.get("local-onnx").embedder(CONFIG);
        chunks = MixedLengthCorpus.chunks(Tokenizers.get(embedder.model().tokenizer()), 120, 8);
    }

    /** The real session, recording the padded shape of each call it makes. */
    private static final class RecordingSession implements Embedder.Session {
        final Embedder.Session real = embedder.openSession(CONFIG, 1);
        final List<int[]> calls = new ArrayList<>(); // {rows, longest}

        @Override
        public Embedder.EmbeddingBatch embed(List<Embedder.EmbeddingInput> inputs) {
            int longest = inputs.stream().mapToInt(i -> i.tokenIds().length).max().orElse(0);
            calls.add(new int[] {inputs.size(), longest});
            return real.embed(inputs);
        }

        @Override
        public RequestStats stats() {
            return real.stats();
        }
    }

    @Test
    void chunksComeOutInTheirOriginalOrderWithinTheWindowBound() {
        Embedder.RequestShape shape = embedder.shape(CONFIG, 1);
        int window = shape.maxInputs() * EmbedStage.WINDOW_BATCHES;
        int[] pulled = {0};
        Iterator<Chunk> source = new Iterator<>() {
            final Iterator<Chunk> real = chunks.iterator();

            @Override
            public boolean hasNext() {
                return real.hasNext();
            }

            @Override
            public Chunk next() {
                pulled[0]++;
                return real.next();
            }
        };
        int emitted = 0;
        try (EmbedStage stage = new EmbedStage(source, new RecordingSession(), shape)) {
            while (stage.hasNext()) {
                ChunkResult e = stage.next();
                assertSame(chunks.get(emitted), e.chunk(), "chunk " + emitted + " out of order");
                emitted++;
                assertTrue(pulled[0] - emitted < window, "held " + (pulled[0] - emitted) + " chunks, window " + window);
            }
        }
        assertEquals(chunks.size(), emitted);
    }

    @Test
    void everyModelCallKeepsItsPaddedTokenBudgetAndRowCap() {
        Embedder.RequestShape shape = embedder.shape(CONFIG, 1);
        RecordingSession session = new RecordingSession();
        long rows = 0;
        try (EmbedStage stage = new EmbedStage(chunks.iterator(), session, shape)) {
            while (stage.hasNext()) {
                stage.next();
            }
        }
        boolean sawLongChunks = false;
        for (int[] call : session.calls) {
            rows += call[0];
            sawLongChunks |= call[1] > 200;
            assertTrue(call[0] <= shape.maxInputs(), "a call of " + call[0] + " rows");
            assertTrue(call[0] == 1 || (long) call[0] * call[1] <= shape.maxTokens(),
                    "a call of " + call[0] + " rows × " + call[1] + " tokens, budget " + shape.maxTokens());
        }
        assertEquals(chunks.size(), rows);
        assertTrue(sawLongChunks, "the corpus should hold 256-token chunks");
    }

    @Test
    void vectorsEqualThoseOfBatchingInArrivalOrder() {
        Embedder.Session session = embedder.openSession(CONFIG, 1);
        int batch = CONFIG.embedder().batchSize();
        List<float[]> unsorted = new ArrayList<>();
        for (int from = 0; from < chunks.size(); from += batch) {
            List<Embedder.EmbeddingInput> inputs = chunks.subList(from, Math.min(chunks.size(), from + batch)).stream()
                    .map(c -> new Embedder.EmbeddingInput(c.text(), c.tokenIds(), c.tokenCount())).toList();
            unsorted.addAll(List.of(session.embed(inputs).vectors()));
        }
        int i = 0;
        try (EmbedStage stage = new EmbedStage(chunks.iterator(), session, embedder.shape(CONFIG, 1))) {
            while (stage.hasNext()) {
                float[] shaped = stage.next().vector();
                assertTrue(cosine(unsorted.get(i), shaped) >= 0.99999, "chunk " + i + ": cosine " + cosine(unsorted.get(i), shaped));
                i++;
            }
        }
        assertEquals(chunks.size(), i);
    }

    @Test
    void planPutsEveryPositionInExactlyOneBatchSortedByLength() {
        int[] lengths = {300, 5, 40, 5, 120, 256, 9, 512, 33};
        List<int[]> batches = PaddedBatchPlan.plan(lengths, 3, 400);
        boolean[] seen = new boolean[lengths.length];
        int previousLongest = 0;
        for (int[] b : batches) {
            int longest = 0;
            for (int p : b) {
                assertTrue(!seen[p], "position " + p + " twice");
                seen[p] = true;
                longest = Math.max(longest, lengths[p]);
                assertTrue(lengths[p] >= previousLongest, "batches follow length order");
            }
            assertTrue(b.length <= 3 && (b.length == 1 || (long) b.length * longest <= 400));
            previousLongest = longest;
        }
        for (boolean s : seen) {
            assertTrue(s);
        }
        assertEquals(List.of(1, 3, 6), List.of(batches.get(0)[0], batches.get(0)[1], batches.get(0)[2]));
        assertEquals(1, batches.get(batches.size() - 1).length, "512 tokens exceed the budget alone");
    }

    private static double cosine(float[] a, float[] b) {
        double dot = 0, na = 0, nb = 0;
        for (int k = 0; k < a.length; k++) {
            dot += a[k] * b[k];
            na += a[k] * a[k];
            nb += b[k] * b[k];
        }
        return dot / Math.sqrt(na * nb);
    }
}
