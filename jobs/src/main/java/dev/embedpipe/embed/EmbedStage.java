package dev.embedpipe.embed;

import dev.embedpipe.chunk.Chunk;
import dev.embedpipe.util.StreamingIterator;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.Iterator;
import java.util.List;

/**
 * Embeds a stream of chunks in batches and emits them as it goes, so a partition's memory is O(batch), never
 * O(partition). It reads a window of a few batches ahead and batches chunks of similar length together, which
 * cuts the padding the model computes on; rows come out in a different order within a window, which no table
 * reader can tell.
 */
public final class EmbedStage extends StreamingIterator<EmbeddedChunk> {
    static final int WINDOW_BATCHES = 4;

    private final Iterator<Chunk> chunks;
    private final Embedder embedder;
    private final int batchSize;
    private final Deque<EmbeddedChunk> ready = new ArrayDeque<>();

    public EmbedStage(Iterator<Chunk> chunks, Embedder embedder, int batchSize) {
        this.chunks = chunks;
        this.embedder = embedder;
        this.batchSize = batchSize;
    }

    @Override
    protected EmbeddedChunk computeNext() {
        if (ready.isEmpty()) {
            List<Chunk> window = new ArrayList<>(batchSize * WINDOW_BATCHES);
            while (window.size() < batchSize * WINDOW_BATCHES && chunks.hasNext()) {
                window.add(chunks.next());
            }
            window.sort(Comparator.comparingInt(Chunk::tokenCount));
            for (int from = 0; from < window.size(); from += batchSize) {
                embedBatch(window.subList(from, Math.min(window.size(), from + batchSize)));
            }
        }
        return ready.poll();
    }

    private void embedBatch(List<Chunk> batch) {
        List<Embedder.EmbeddingInput> inputs = new ArrayList<>(batch.size());
        for (Chunk chunk : batch) {
            inputs.add(new Embedder.EmbeddingInput(chunk.text(), chunk.tokenIds()));
        }
        Embedder.EmbeddingBatch result = embedder.embed(inputs);
        int dims = embedder.model().dimensions();
        for (int i = 0; i < batch.size(); i++) {
            float[] vector = result.vectors()[i];
            if (vector == null) {
                // Per-item failures get an errors table with the remote providers; until then they fail the task.
                throw new IllegalStateException("embedding failed for chunk " + batch.get(i).chunkId() + ": " + result.errors()[i]);
            }
            if (vector.length != dims) {
                throw new IllegalStateException("the model returned " + vector.length + " dimensions, expected " + dims);
            }
            ready.add(new EmbeddedChunk(batch.get(i), vector));
        }
    }
}
