package dev.embedpipe.embed;

import dev.embedpipe.chunk.Chunk;

/** A chunk with its vector, or with the error that kept it from having one. */
public record EmbeddedChunk(Chunk chunk, float[] vector, Embedder.EmbeddingError error) {
    public boolean failed() {
        return vector == null;
    }
}
