package dev.embedpipe.embed;

import dev.embedpipe.chunk.Chunk;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * Packs a stream of chunks into requests of at most {@code maxInputs} inputs and {@code maxTokens} tokens (a chunk
 * larger than that goes alone). The embed stage sends what it packs; the estimate counts the same packing, so the
 * request count it prints is the one a run makes.
 */
public final class RequestPacker {
    private final Iterator<Chunk> chunks;
    private final int maxInputs;
    private final long maxTokens;
    private Chunk pending; // read but did not fit the previous request

    public RequestPacker(Iterator<Chunk> chunks, int maxInputs, long maxTokens) {
        this.chunks = chunks;
        this.maxInputs = maxInputs;
        this.maxTokens = maxTokens;
    }

    /** The next request (at least one chunk), or null when the chunks are used up. */
    public List<Chunk> next() {
        List<Chunk> request = new ArrayList<>();
        long tokens = 0;
        while (request.size() < maxInputs) {
            Chunk next = pending != null ? pending : chunks.hasNext() ? chunks.next() : null;
            pending = null;
            if (next == null) {
                break;
            }
            if (!request.isEmpty() && tokens + next.tokenCount() > maxTokens) {
                pending = next;
                break;
            }
            request.add(next);
            tokens += next.tokenCount();
        }
        return request.isEmpty() ? null : request;
    }
}
