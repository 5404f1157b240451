package dev.embedpipe.embed;

import dev.embedpipe.chunk.Chunk;

import java.io.Serializable;

/**
 * What became of one chunk: its vector and where it came from, or the error that kept it from having one. The one
 * type a chunk's outcome travels in, from the embed stages to the write step (which turns it into a row of
 * {@code embeddings/} or {@code errors/}).
 */
public record ChunkResult(Chunk chunk, float[] vector, Embedder.EmbeddingError error, Origin origin) implements Serializable {

    /** Where a chunk's vector came from: the one vocabulary for it. */
    public enum Origin {
        /** the cache (a previous table, the shared cache or an interrupted run's checkpoints) */
        CACHE,
        /** sent to the embedder by this run */
        EMBEDDED,
        /** another chunk with the same text was embedded by this run */
        REUSED,
        /** no vector: see {@link ChunkResult#error()} */
        ERROR
    }

    public ChunkResult {
        if ((vector == null) != (origin == Origin.ERROR) || (error != null) != (origin == Origin.ERROR)) {
            throw new IllegalArgumentException("a result has a vector or an error, and origin ERROR exactly when it has no vector: "
                    + origin);
        }
    }

    public static ChunkResult embedded(Chunk chunk, float[] vector) {
        return new ChunkResult(chunk, vector, null, Origin.EMBEDDED);
    }

    public static ChunkResult failed(Chunk chunk, Embedder.EmbeddingError error) {
        return new ChunkResult(chunk, null, error, Origin.ERROR);
    }

    /** The same outcome for another chunk with the same text: the vector is reused, or the error repeats. */
    public ChunkResult forSameText(Chunk other) {
        return new ChunkResult(other, vector, error, failed() ? Origin.ERROR : origin == Origin.CACHE ? Origin.CACHE : Origin.REUSED);
    }

    public boolean failed() {
        return vector == null;
    }
}
