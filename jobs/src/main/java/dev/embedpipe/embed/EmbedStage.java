package dev.embedpipe.embed;

import dev.embedpipe.chunk.Chunk;
import dev.embedpipe.util.StreamingIterator;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Embeds a stream of chunks and emits them as it goes, so a partition's memory is O(requests in flight), never
 * O(partition). Chunks are packed into requests by the embedder's {@link Embedder.RequestShape} (inputs and tokens
 * per request); up to {@code maxInFlight} requests run at once on the task's own threads, and results come out in
 * request order, each vector still paired with its own chunk.
 *
 * <p>For local models ({@code groupBySimilarLength}) it reads a window of {@value #WINDOW_BATCHES} batches ahead
 * and cuts it into batches of similar length by {@link PaddedBatchPlan}, at most {@code maxInputs} rows and
 * {@code maxTokens} padded tokens (rows × longest) each, which cuts the padding the model computes on. Chunks come
 * out in their original order; memory stays O(window).
 */
public final class EmbedStage extends StreamingIterator<ChunkResult> implements AutoCloseable {
    static final int WINDOW_BATCHES = 16;

    private final Iterator<Chunk> chunks;
    private final Embedder.Session session;
    private final Embedder.RequestShape shape;
    private final Deque<ChunkResult> ready = new ArrayDeque<>();
    private final Deque<InFlight> inFlight = new ArrayDeque<>();
    private final ExecutorService pool;
    private final RequestPacker packer;
    private final java.util.function.Consumer<List<ChunkResult>> onRequestDone;

    private record InFlight(List<Chunk> chunks, Future<Embedder.EmbeddingBatch> result) {}

    public EmbedStage(Iterator<Chunk> chunks, Embedder.Session session, Embedder.RequestShape shape) {
        this(chunks, session, shape, null);
    }

    /** @param onRequestDone sees each request's results as soon as they are in (the job checkpoints them), or null */
    public EmbedStage(Iterator<Chunk> chunks, Embedder.Session session, Embedder.RequestShape shape,
                      java.util.function.Consumer<List<ChunkResult>> onRequestDone) {
        this.onRequestDone = onRequestDone;
        this.chunks = chunks;
        this.session = session;
        this.shape = shape;
        this.packer = new RequestPacker(chunks, shape.maxInputs(), shape.maxTokens());
        this.pool = shape.maxInFlight() > 1 ? Executors.newFixedThreadPool(shape.maxInFlight(), runnable -> {
            Thread thread = new Thread(runnable, "embedpipe-request");
            thread.setDaemon(true);
            return thread;
        }) : null;
    }

    @Override
    protected ChunkResult computeNext() {
        if (ready.isEmpty()) {
            if (pool != null) {
                fillConcurrently();
            } else if (shape.groupBySimilarLength()) {
                fillWindowByLength();
            } else {
                List<Chunk> request = nextRequest();
                if (request != null) {
                    collect(request, session.embed(inputs(request)));
                }
            }
        }
        ChunkResult next = ready.poll();
        if (next == null) {
            close();
        }
        return next;
    }

    private void fillConcurrently() {
        List<Chunk> request;
        while (inFlight.size() < shape.maxInFlight() && (request = nextRequest()) != null) {
            List<Embedder.EmbeddingInput> inputs = inputs(request);
            inFlight.add(new InFlight(request, pool.submit(() -> session.embed(inputs))));
        }
        InFlight oldest = inFlight.poll();
        if (oldest != null) {
            try {
                collect(oldest.chunks(), oldest.result().get());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while embedding", e);
            } catch (ExecutionException e) {
                throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
            }
        }
    }

    private void fillWindowByLength() {
        int windowSize = shape.maxInputs() * WINDOW_BATCHES;
        List<Chunk> window = new ArrayList<>(windowSize);
        while (window.size() < windowSize && chunks.hasNext()) {
            window.add(chunks.next());
        }
        int[] lengths = new int[window.size()];
        for (int i = 0; i < lengths.length; i++) {
            lengths[i] = modelLength(window.get(i));
        }
        ChunkResult[] inOrder = new ChunkResult[window.size()];
        for (int[] positions : PaddedBatchPlan.plan(lengths, shape.maxInputs(), shape.maxTokens())) {
            List<Chunk> batch = new ArrayList<>(positions.length);
            for (int position : positions) {
                batch.add(window.get(position));
            }
            List<ChunkResult> done = results(batch, session.embed(inputs(batch)));
            for (int i = 0; i < positions.length; i++) {
                inOrder[positions[i]] = done.get(i);
            }
        }
        ready.addAll(Arrays.asList(inOrder));
    }

    /** The row length the model pads to: the ids it gets (special tokens included) when the chunk carries them. */
    static int modelLength(Chunk chunk) {
        return chunk.tokenIds() != null ? chunk.tokenIds().length : chunk.tokenCount();
    }

    private List<Chunk> nextRequest() {
        return packer.next();
    }

    private static List<Embedder.EmbeddingInput> inputs(List<Chunk> request) {
        List<Embedder.EmbeddingInput> inputs = new ArrayList<>(request.size());
        for (Chunk chunk : request) {
            inputs.add(new Embedder.EmbeddingInput(chunk.text(), chunk.tokenIds(), chunk.tokenCount()));
        }
        return inputs;
    }

    private void collect(List<Chunk> request, Embedder.EmbeddingBatch result) {
        ready.addAll(results(request, result));
    }

    /** Pairs each chunk with its result and hands the request's results to {@code onRequestDone}. */
    private List<ChunkResult> results(List<Chunk> request, Embedder.EmbeddingBatch result) {
        if (result.vectors().length != request.size()) {
            throw new IllegalStateException("the embedder answered " + result.vectors().length + " results for "
                    + request.size() + " inputs");
        }
        List<ChunkResult> done = new ArrayList<>(request.size());
        for (int i = 0; i < request.size(); i++) {
            float[] vector = result.vectors()[i];
            Embedder.EmbeddingError error = result.errors()[i];
            if (vector == null && error == null) {
                throw new IllegalStateException("the embedder returned neither a vector nor an error for input " + i);
            }
            done.add(vector == null ? ChunkResult.failed(request.get(i), error) : ChunkResult.embedded(request.get(i), vector));
        }
        if (onRequestDone != null) {
            onRequestDone.accept(done);
        }
        return done;
    }

    @Override
    public void close() {
        if (pool != null) {
            pool.shutdownNow();
        }
    }
}
