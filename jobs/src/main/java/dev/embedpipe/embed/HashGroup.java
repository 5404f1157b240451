package dev.embedpipe.embed;

import dev.embedpipe.chunk.Chunk;

import java.io.Serializable;
import java.util.List;

/**
 * All chunks of one run with the same text (same content hash), and the vector the cache holds for that text under
 * this run's provider, model, dimensions and tokenizer, if any. Grouping by content is what lets a run reuse cached
 * vectors with one join, and pay for each distinct text once even when many documents share it.
 */
public record HashGroup(String contentHash, List<Chunk> chunks, float[] cached) implements Serializable {
    public boolean hit() {
        return cached != null;
    }

    public Chunk representative() {
        return chunks.get(0);
    }
}
