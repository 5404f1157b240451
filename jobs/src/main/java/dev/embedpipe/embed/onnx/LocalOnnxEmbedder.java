package dev.embedpipe.embed.onnx;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.embedpipe.config.EmbedpipeConfig;
import dev.embedpipe.embed.Embedder;
import dev.embedpipe.embed.RequestStats;
import dev.embedpipe.embed.ModelInfo;
import dev.embedpipe.embed.VectorRecipe;
import dev.embedpipe.tokenize.TextTokenizer;
import dev.embedpipe.tokenize.Tokenizers;

import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Sentence embeddings as sentence-transformers computes them: the transformer's last hidden state, pooled as the
 * model's {@link VectorRecipe} says (mean over the attention mask, or the [CLS] token), then L2-normalised if it says
 * so. Inputs carry their token ids (document prompt included) from the chunker; an input without ids is tokenized
 * here, prompt first. A batch is padded to its longest input.
 */
public final class LocalOnnxEmbedder implements Embedder, AutoCloseable {
    private final OrtEnvironment env;
    private final OrtSession session;
    private final ModelInfo info;
    private final boolean takesTokenTypes;
    /** Model calls hold the read side; close takes the write side, so a session is never freed under a call. */
    private final java.util.concurrent.locks.ReentrantReadWriteLock inUse = new java.util.concurrent.locks.ReentrantReadWriteLock();
    private volatile boolean closed;
    private final VectorRecipe recipe;
    private final boolean oneTextPerCall;

    LocalOnnxEmbedder(OrtEnvironment env, OrtSession session, ModelInfo info, boolean dynamicallyQuantized) {
        this.oneTextPerCall = dynamicallyQuantized;
        this.env = env;
        this.session = session;
        this.info = info;
        this.recipe = info.recipe() == null ? VectorRecipe.MEAN_NORMALIZED : info.recipe();
        this.takesTokenTypes = session.getInputNames().contains("token_type_ids");
    }

    @Override
    public ModelInfo model() {
        return info;
    }

    /**
     * Padded tokens (rows × longest) per model call, per row of {@code embedder.batch_size}: short texts fill the
     * batch's rows, 256-token chunks get half of them. Measured on 2 cores (BENCHMARKS.md, batch shaping).
     */
    static final int PADDED_TOKENS_PER_ROW = 128;

    @Override
    public RequestShape shape(EmbedpipeConfig config, int concurrentTasks) {
        int rows = oneTextPerCall ? 1 : config.embedder().batchSize();
        return new RequestShape(rows, (long) rows * PADDED_TOKENS_PER_ROW, 1, true);
    }

    /** The session is the shared embedder itself: a local model has no budget to share and nothing to count. */
    @Override
    public Session openSession(EmbedpipeConfig config, int concurrentTasks) {
        return new Session() {
            @Override
            public EmbeddingBatch embed(List<EmbeddingInput> inputs) {
                return LocalOnnxEmbedder.this.embed(inputs);
            }

            @Override
            public RequestStats stats() {
                return RequestStats.EMPTY;
            }
        };
    }

    public EmbeddingBatch embed(List<EmbeddingInput> inputs) {
        if (oneTextPerCall && inputs.size() > 1) {
            float[][] vectors = new float[inputs.size()][];
            for (int i = 0; i < vectors.length; i++) {
                vectors[i] = embed(inputs.subList(i, i + 1)).vectors()[0];
            }
            return EmbeddingBatch.ofVectors(vectors);
        }
        int batch = inputs.size();
        if (batch == 0) {
            return EmbeddingBatch.ofVectors(new float[0][]);
        }
        long[][] ids = new long[batch][];
        TextTokenizer tokenizer = null;
        int seq = 0;
        for (int i = 0; i < batch; i++) {
            EmbeddingInput input = inputs.get(i);
            if (input.tokenIds() != null) {
                ids[i] = input.tokenIds();
            } else {
                if (tokenizer == null) {
                    tokenizer = Tokenizers.get(info.tokenizer());
                }
                ids[i] = tokenizer.ids(info.documentText(input.text()));
            }
            if (ids[i].length > info.maxInputTokens()) {
                throw new IllegalArgumentException("input " + i + " has " + ids[i].length + " tokens, over the model's "
                        + info.maxInputTokens() + ": the chunker must prevent this");
            }
            seq = Math.max(seq, ids[i].length);
        }
        long[] flatIds = new long[batch * seq];
        long[] mask = new long[batch * seq];
        for (int i = 0; i < batch; i++) {
            System.arraycopy(ids[i], 0, flatIds, i * seq, ids[i].length);
            java.util.Arrays.fill(mask, i * seq, i * seq + ids[i].length, 1L);
        }
        long[] shape = {batch, seq};
        Map<String, OnnxTensor> feed = new HashMap<>();
        try {
            feed.put("input_ids", OnnxTensor.createTensor(env, LongBuffer.wrap(flatIds), shape));
            feed.put("attention_mask", OnnxTensor.createTensor(env, LongBuffer.wrap(mask), shape));
            if (takesTokenTypes) {
                feed.put("token_type_ids", OnnxTensor.createTensor(env, LongBuffer.wrap(new long[batch * seq]), shape));
            }
            try (OrtSession.Result result = run(feed)) {
                OnnxTensor hidden = (OnnxTensor) result.get(0);
                long[] outShape = hidden.getInfo().getShape();
                int dims = (int) outShape[2];
                FloatBuffer buffer = hidden.getFloatBuffer();
                float[] states = new float[buffer.remaining()];
                buffer.get(states); // one bulk copy; per-element buffer reads cost more than the pooling
                float[][] vectors = new float[batch][];
                for (int i = 0; i < batch; i++) {
                    vectors[i] = pool(states, i, seq, dims, ids[i].length);
                }
                return EmbeddingBatch.ofVectors(vectors);
            }
        } catch (OrtException e) {
            throw new IllegalStateException("ONNX Runtime failed on a batch of " + batch, e);
        } finally {
            feed.values().forEach(OnnxTensor::close);
        }
    }

    /** Padding sits after the real tokens, so the mask is the first {@code length} positions. */
    private float[] pool(float[] states, int row, int seq, int dims, int length) {
        int base = row * seq * dims;
        float[] v;
        if (recipe.pooling() == VectorRecipe.Pooling.CLS) {
            v = java.util.Arrays.copyOfRange(states, base, base + dims);
        } else {
            v = new float[dims];
            for (int t = 0; t < length; t++) {
                int offset = base + t * dims;
                for (int d = 0; d < dims; d++) {
                    v[d] += states[offset + d];
                }
            }
            for (int d = 0; d < dims; d++) {
                v[d] /= length;
            }
        }
        if (recipe.normalize()) {
            double norm = 0;
            for (int d = 0; d < dims; d++) {
                norm += (double) v[d] * v[d];
            }
            float scale = (float) (1.0 / Math.max(Math.sqrt(norm), 1e-12));
            for (int d = 0; d < dims; d++) {
                v[d] *= scale;
            }
        }
        return v;
    }

    /** One model call, never while (or after) the session is closed: freeing it under a call crashes the JVM. */
    private OrtSession.Result run(Map<String, OnnxTensor> feed) throws OrtException {
        inUse.readLock().lock();
        try {
            if (closed) {
                throw new IllegalStateException("the ONNX session is closed: the run is stopping");
            }
            return session.run(feed);
        } finally {
            inUse.readLock().unlock();
        }
    }

    /** Waits (up to a minute) for model calls in progress, then frees the native session; later calls fail fast. */
    @Override
    public void close() {
        closed = true;
        try {
            if (!inUse.writeLock().tryLock(60, java.util.concurrent.TimeUnit.SECONDS)) {
                return; // a call still runs: leave the session to the OS rather than free it under the call
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        }
        try {
            session.close();
        } catch (OrtException e) {
            // closing at the end of a run or at JVM exit: nothing to recover
        } finally {
            inUse.writeLock().unlock();
        }
    }
}
