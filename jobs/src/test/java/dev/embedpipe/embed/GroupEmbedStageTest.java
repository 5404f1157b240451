package dev.embedpipe.embed;

import dev.embedpipe.chunk.Chunk;
import dev.embedpipe.config.ConfigLoader;
import dev.embedpipe.config.EmbedpipeConfig;
import dev.embedpipe.testing.MixedLengthCorpus;
import dev.embedpipe.tokenize.Tokenizers;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

/**
 * A partition's hash groups through {@link GroupEmbedStage} with the real local model: one {@link ChunkResult} per
 * chunk with the right origin, each distinct missing text sent exactly once, the budget's refusals as errors.
 */
class GroupEmbedStageTest {
    private static final EmbedpipeConfig CONFIG = ConfigLoader.defaultsWith(Map.of());

    @Test
    void everyChunkGetsOneResultAndEachMissingTextIsSentOnce() {
        Embedder embedder = EmbedderRegistry.get("local-onnx").embedder(CONFIG);
        List<Chunk> texts = MixedLengthCorpus.chunks(Tokenizers.get(embedder.model().tokenizer()), 4, 8);
        float[] cachedVector = {1f, 0f, 0f};
        HashGroup hit = new HashGroup(texts.get(0).contentHash(), List.of(texts.get(0), copy(texts.get(0), "hit-copy")), cachedVector);
        HashGroup shared = new HashGroup(texts.get(1).contentHash(),
                List.of(texts.get(1), copy(texts.get(1), "shared-2"), copy(texts.get(1), "shared-3")), null);
        HashGroup single = new HashGroup(texts.get(2).contentHash(), List.of(texts.get(2)), null);
        HashGroup overBudget = new HashGroup(texts.get(3).contentHash(), List.of(texts.get(3), copy(texts.get(3), "over-2")), null);
        long allowance = texts.get(1).tokenCount() + texts.get(2).tokenCount();

        List<Integer> requestSizes = new ArrayList<>();
        List<String> sent = new ArrayList<>();
        Embedder.Session real = embedder.openSession(CONFIG, 1);
        Embedder.Session counting = new Embedder.Session() {
            @Override
            public Embedder.EmbeddingBatch embed(List<Embedder.EmbeddingInput> inputs) {
                requestSizes.add(inputs.size());
                return real.embed(inputs);
            }

            @Override
            public RequestStats stats() {
                return real.stats();
            }
        };
        long[] left = {allowance};
        List<ChunkResult> out = new ArrayList<>();
        try (GroupEmbedStage stage = new GroupEmbedStage(List.of(hit, shared, single, overBudget).iterator(), counting,
                embedder.shape(CONFIG, 1), tokens -> {
                    if (tokens > left[0]) {
                        return false;
                    }
                    left[0] -= tokens;
                    return true;
                }, request -> request.forEach(r -> sent.add(r.chunk().chunkId())))) {
            stage.forEachRemaining(out::add);
        }

        assertEquals(8, out.size(), "one result per chunk");
        assertThat(out.stream().map(r -> r.chunk().chunkId()).distinct().count()).isEqualTo(8);
        assertThat(sent).containsExactlyInAnyOrder(texts.get(1).chunkId(), texts.get(2).chunkId());
        assertEquals(2, requestSizes.stream().mapToInt(Integer::intValue).sum(), "two distinct missing texts, each sent once");

        for (ChunkResult r : out) {
            String id = r.chunk().chunkId();
            if (r.chunk().contentHash().equals(hit.contentHash())) {
                assertEquals(ChunkResult.Origin.CACHE, r.origin(), id);
                assertSame(cachedVector, r.vector());
            } else if (r.chunk().contentHash().equals(overBudget.contentHash())) {
                assertEquals(ChunkResult.Origin.ERROR, r.origin(), id);
                assertEquals("budget_exhausted", r.error().errorClass());
            } else {
                boolean representative = id.equals(texts.get(1).chunkId()) || id.equals(texts.get(2).chunkId());
                assertEquals(representative ? ChunkResult.Origin.EMBEDDED : ChunkResult.Origin.REUSED, r.origin(), id);
                assertThat(r.vector()).hasSize(embedder.model().dimensions());
            }
        }
        float[] sharedVector = out.stream().filter(r -> r.chunk().chunkId().equals(texts.get(1).chunkId())).findFirst().orElseThrow().vector();
        out.stream().filter(r -> r.chunk().contentHash().equals(shared.contentHash()))
                .forEach(r -> assertArrayEquals(sharedVector, r.vector(), r.chunk().chunkId()));
    }

    private static Chunk copy(Chunk c, String chunkId) {
        return new Chunk(chunkId, c.docId() + "-" + chunkId, c.chunkIndex(), c.text(), c.tokenCount(), c.charStart(), c.charEnd(),
                c.contentHash(), c.sourceFile(), c.metadata(), c.tokenIds(), c.unknownTokens());
    }
}
