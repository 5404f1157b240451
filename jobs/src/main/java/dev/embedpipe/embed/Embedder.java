package dev.embedpipe.embed;

import dev.embedpipe.config.EmbedpipeConfig;
import dev.embedpipe.util.Redaction;

import java.io.Serializable;
import java.util.List;

/**
 * A batch of texts in, a batch of vectors (or per-item failures) out, aligned by position. One instance per
 * configuration per JVM, shared by all tasks; each task opens a {@link Session} holding its own share of the rate
 * budget and its statistics. Providers know only their model or wire format; packing and scheduling live in
 * {@link EmbedStage}.
 */
public interface Embedder {
    ModelInfo model();

    /**
     * How {@link EmbedStage} packs and schedules this embedder's requests under this configuration, when
     * {@code concurrentTasks} tasks share the budgets.
     */
    RequestShape shape(EmbedpipeConfig config, int concurrentTasks);

    /** A task's session; {@code concurrentTasks} is how many tasks share the job's budgets at once. */
    Session openSession(EmbedpipeConfig config, int concurrentTasks);

    /** Thread-safe for up to {@code shape().maxInFlight()} concurrent callers. */
    interface Session extends AutoCloseable {
        /** One request as {@link RequestPacker} packed it under {@link #shape}: providers never split or re-pack it. */
        EmbeddingBatch embed(List<EmbeddingInput> inputs);

        /** This session's request statistics so far, as an immutable snapshot. */
        RequestStats stats();

        @Override
        default void close() {}
    }

    /**
     * @param maxInputs            most inputs per request (or model call)
     * @param maxTokens            most tokens per request; with {@code groupBySimilarLength}, most padded tokens
     *                             (rows × longest row) per model call
     * @param maxInFlight          concurrent requests per task
     * @param groupBySimilarLength batch inputs of similar length together (cuts padding for local models)
     */
    record RequestShape(int maxInputs, long maxTokens, int maxInFlight, boolean groupBySimilarLength) {}

    /**
     * One text to embed, with its token count under the provider's tokenizer; {@code tokenIds} (special tokens
     * included) when the chunker already has the model's own ids, else null.
     */
    record EmbeddingInput(String text, long[] tokenIds, int tokenCount) {}

    /** {@code vectors[i]} is the vector of input i, or null with {@code errors[i]} saying why. */
    record EmbeddingBatch(float[][] vectors, EmbeddingError[] errors) {
        public static EmbeddingBatch ofVectors(float[][] vectors) {
            return new EmbeddingBatch(vectors, new EmbeddingError[vectors.length]);
        }
    }

    /**
     * Why one input has no vector after every attempt; becomes a row of {@code OUTPUT/errors/}. The free-text
     * parts come from the server (an error body may echo our headers), so they are redacted here, once for every
     * provider and every path to the errors table.
     */
    record EmbeddingError(String errorClass, int httpStatus, int attempts, String requestId, boolean retriable,
                          String message) implements Serializable {
        public EmbeddingError {
            requestId = Redaction.redact(requestId);
            message = Redaction.redact(message);
        }
    }
}
