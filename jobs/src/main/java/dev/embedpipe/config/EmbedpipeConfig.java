package dev.embedpipe.config;

import java.io.Serializable;
import java.util.List;

/**
 * The whole configuration as one immutable tree. Built and validated once on the driver by {@link ConfigLoader},
 * then shipped to executors as a value. Field names map to YAML keys in snake_case ({@code input.id_field}).
 */
public record EmbedpipeConfig(
        Input input, Output output, Spark spark, Clean clean, Chunk chunk, Quality quality, Embedder embedder,
        Limits limits, Cost cost, Cache cache, Budget budget, Progress progress) implements Serializable {

    public record Input(
            List<String> paths,
            String idField,
            String textField,
            String duplicateIds,
            long maxLineBytes,
            long splitBytes,
            long partitionBytes) implements Serializable {}

    /**
     * {@code leaseTimeoutS}: seconds without a heartbeat after which another run's lease on the output is taken over.
     * {@code format}: parquet | delta; {@code sync} and {@code rebuild} apply to delta (see README, Delta Lake output).
     */
    public record Output(String path, String compression, String commit, int leaseTimeoutS,
                         String format, String sync, boolean rebuild) implements Serializable {
        public boolean delta() {
            return "delta".equals(format);
        }
    }

    /** {@code conf}: Spark settings for the run (e.g. spark.hadoop.fs.s3a.*); spark-submit's --conf wins. */
    public record Spark(String master, String appName, java.util.Map<String, String> conf) implements Serializable {}

    public record Clean(List<String> steps, int minChars) implements Serializable {}

    public record Chunk(int maxTokens, int overlapTokens) implements Serializable {}

    /**
     * Ratios over which a completed run exits 3; null means no threshold. {@code maxUnknownTokenRatio}: a chunk with
     * a larger share of its tokenizer's unknown token is not embedded but an {@code unknown_tokens} error (null: off).
     */
    public record Quality(Double maxRejectRatio, Double maxErrorRatio, Double maxUnknownTokenRatio) implements Serializable {}

    public record Embedder(
            String provider,
            int batchSize,
            int threadsPerTask,
            String modelPath,
            String tokenizerPath,
            String baseUrl,
            String model,
            Integer dimensions,
            String encodingFormat,
            String apiVersion,
            String apiKeyEnv,
            String apiKeyFile,
            java.util.Map<String, String> headers,
            String mode,
            // local-onnx overrides of the model's own recipe (empty / null: the catalog's or the folder's)
            String pooling,
            Boolean normalize,
            String documentPrompt,
            String queryPrompt) implements Serializable {
        /** {@code embedder.mode: batch}: the OpenAI Batch API (half price, answers within 24 h) instead of live calls. */
        public boolean batchMode() {
            return "batch".equals(mode);
        }
    }

    /**
     * Remote request limits. The per-window budgets are the whole job's; each running task gets an equal share
     * (budget / task slots).
     */
    public record Limits(
            long requestsPerMinute,
            long tokensPerMinute,
            int windowSeconds,
            int maxInFlight,
            int maxInputsPerRequest,
            long maxTokensPerRequest,
            int maxInputTokens,
            int maxAttempts,
            int requestTimeoutS,
            int maxRetryWaitS,
            long maxResponseBytes,
            int batchPollS,
            double batchMaxWaitH,
            long batchQueueTokens,
            int batchMaxRequestsPerFile,
            long batchMaxFileBytes,
            int batchMaxInputs) implements Serializable {}

    /** {@code batchDiscount}: the Batch API's price as a share of the live price (OpenAI: 0.5). */
    public record Cost(double usdPerMillionTokens, double batchDiscount) implements Serializable {
        public double batchUsdPerMillionTokens() {
            return usdPerMillionTokens * batchDiscount;
        }
    }

    /** Content-addressed reuse of vectors: the previous table in the output, a shared table, interrupted runs. */
    public record Cache(boolean enabled, String table) implements Serializable {}

    /** Hard caps on what one run may spend; 0 means none. */
    public record Budget(long maxTotalTokens, double maxCost) implements Serializable {}

    /** The driver's progress line: every {@code intervalS} seconds, 0 for none. */
    public record Progress(int intervalS) implements Serializable {}
}
