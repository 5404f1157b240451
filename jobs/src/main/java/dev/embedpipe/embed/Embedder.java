package dev.embedpipe.embed;

import java.util.List;

/**
 * A batch of texts in, a batch of vectors (or per-item failures) out, aligned by position. Implementations are
 * shared by all tasks of a JVM and must be thread-safe. Providers know only their model or wire format; batching,
 * accounting and output live in {@link EmbedStage}.
 */
public interface Embedder {
    ModelInfo model();

    EmbeddingBatch embed(List<EmbeddingInput> inputs);

    /** One text to embed; {@code tokenIds} (special tokens included) when the chunker already has them, else null. */
    record EmbeddingInput(String text, long[] tokenIds) {}

    /** {@code vectors[i]} is the vector of input i, or null with {@code errors[i]} saying why. */
    record EmbeddingBatch(float[][] vectors, String[] errors) {
        public static EmbeddingBatch ofVectors(float[][] vectors) {
            return new EmbeddingBatch(vectors, new String[vectors.length]);
        }
    }
}
