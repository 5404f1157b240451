package dev.embedpipe.manifest;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * {@code OUTPUT/manifest.json}: what a run wrote, with what, and how it went. Field names are the JSON's in camel case
 * ({@link ManifestJson} maps {@code runId} to {@code run_id}); components are in the order they are written. A field
 * that an earlier release did not write reads as null (objects, texts) or 0, and a null is not written back. Readers
 * of a table depend on this package only, never on the job that wrote it.
 */
public record Manifest(Tool tool, String layout, String command, String runId, String status, String startedAt,
                       String finishedAt, JsonNode config, Model model, List<Input> inputs, Counts totals,
                       Quality quality, Outputs outputs, Delta delta, Spark spark, Requests requests, Batch batch,
                       Timings timingsMs, double chunksPerSecond, Map<String, List<String>> files,
                       List<Redrive> redrives) {

    /** Its name in an output folder. */
    public static final String FILE = "manifest.json";
    public static final String TOOL_NAME = "embedpipe";
    /** The {@code layout} value for today's folder layout (tables, manifest, _staging-*, runs/). */
    public static final String LAYOUT = "embedpipe-output/1";

    /** True when embedpipe wrote it: this release's layout, or an earlier release's manifest. */
    @JsonIgnore
    public boolean isEmbedpipe() {
        if (tool == null || !TOOL_NAME.equals(tool.name())) {
            return false;
        }
        if (layout != null) {
            return LAYOUT.equals(layout);
        }
        String commit = outputs == null ? "" : outputs.commit();
        return "rename".equals(commit) || "manifest".equals(commit); // written before the layout field existed
    }

    /** With {@code files}: every data file of each table, relative to the output folder (object-store commits). */
    public Manifest withFiles(Map<String, List<String>> files) {
        return new Manifest(tool, layout, command, runId, status, startedAt, finishedAt, config, model, inputs, totals,
                quality, outputs, delta, spark, requests, batch, timingsMs, chunksPerSecond, files, redrives);
    }

    /**
     * After a redrive: each table where {@code published} puts it, today's layout, the counts moved, the status, and
     * the redrive appended to {@code redrives}.
     */
    public Manifest withRedrive(UnaryOperator<String> published, Map<String, Counts> perFile, Counts totals,
                                String status, Redrive redrive) {
        List<Input> moved = inputs == null ? null : inputs.stream()
                .map(i -> perFile.containsKey(i.path()) ? new Input(i.path(), i.bytes(), i.gzip(), perFile.get(i.path())) : i)
                .toList();
        List<Redrive> all = new ArrayList<>(redrives == null ? List.of() : redrives);
        all.add(redrive);
        return new Manifest(tool, LAYOUT, command, runId, status, startedAt, finishedAt, config, model, moved, totals,
                quality, outputs.withTables(published), delta, spark, requests, batch, timingsMs, chunksPerSecond, files,
                all);
    }

    public record Tool(String name, String version) {}

    /**
     * The model that made the vectors. {@code pooling}, {@code normalize} and the prompts are null in a manifest
     * written before the model catalog (all-MiniLM-L6-v2: mean pooling, L2, no prompts) and for remote providers;
     * {@code sha256} is null for remote providers.
     */
    public record Model(String provider, String model, int dimensions, int maxInputTokens, String normalized,
                        String pooling, Boolean normalize, String documentPrompt, String queryPrompt, String sha256,
                        Tokenizer tokenizer) {
        /** Whether the vectors are unit length: "yes (...)" in {@code normalized}. */
        public boolean unitLength() {
            return normalized != null && normalized.startsWith("yes");
        }
    }

    public record Tokenizer(String name, String sha256) {}

    public record Input(String path, long bytes, boolean gzip, Counts counts) {}

    /**
     * One input file's counts, or the run's. They reconcile: {@code lines = documents + rejected + skipped},
     * {@code documents = filtered + chunked}, {@code chunks = embedded + cached + errored}.
     */
    public record Counts(long lines, long documents, long rejected, long skipped, long filtered, long chunked,
                         long chunks, long embedded, long cached, long errored, long tokens, boolean reconciled) {
        /** {@code retried} errored chunks sent again: {@code embedded} now embedded, {@code reused} from the cache. */
        public Counts withRedriven(long embedded, long reused, long stillFailing) {
            long newEmbedded = this.embedded + embedded;
            long newCached = cached + reused;
            long newErrored = errored - (embedded + reused + stillFailing) + stillFailing;
            return new Counts(lines, documents, rejected, skipped, filtered, chunked, chunks, newEmbedded, newCached,
                    newErrored, tokens, reconciled && chunks == newEmbedded + newCached + newErrored);
        }
    }

    public record Quality(double rejectRatio, double errorRatio, List<String> breaches) {}

    /** Where each table is, relative to {@link #path}, and how the run was committed ({@code rename}/{@code manifest}). */
    public record Outputs(String path, String commit, String format, String embeddings, String rejects, String errors,
                          int embeddingFiles, long rows) {
        public static final String PARQUET = "parquet";

        public Outputs {
            format = format == null ? PARQUET : format; // written before output.format existed: Parquet
        }

        /** The relative location of {@code embeddings}, {@code rejects} or {@code errors}; null for another name. */
        public String table(String name) {
            return switch (name) {
                case "embeddings" -> embeddings;
                case "rejects" -> rejects;
                case "errors" -> errors;
                default -> null;
            };
        }

        Outputs withTables(UnaryOperator<String> published) {
            return new Outputs(path, commit, format, published.apply("embeddings"), published.apply("rejects"),
                    published.apply("errors"), embeddingFiles, rows);
        }
    }

    /** output.format=delta: the version committed and MERGE's (or the first write's) metrics. */
    public record Delta(String table, long version, long previousVersion, String operation, String sync,
                        boolean mirrorDeletes, String txnAppId, long txnVersion, boolean applied,
                        LinkedHashMap<String, Long> metrics) {}

    public record Spark(String master, String applicationId, int partitions) {}

    /** Remote requests, summed over successful task attempts. {@code tokensBilled} is null before batch mode. */
    public record Requests(long requests, long retries, @JsonProperty("throttled_429") long throttled429,
                           long serverErrors, long transportErrors, long inputsSent, long tokensSent,
                           double secondsThrottled, Latency latencyMs, double estimatedCostUsd, String counting,
                           TokensBilled tokensBilled) {}

    public record Latency(double p50, double p90, double p99) {}

    public record TokensBilled(long sync, long batch) {}

    /** embedder.mode=batch: what was submitted to and collected from the Batch API. */
    public record Batch(long filesUploaded, long batchesCreated, long requestsSubmitted, long inputsSubmitted,
                        long tokensSubmitted, long batchesAttached, long batchesAdopted, long batchesCollected,
                        long batchesRequeued, long tokensBilled, double usdPerMillionTokens, long pendingChunks) {}

    /** Wall times; {@code stages} in the order the stages ran (null before stage timings existed). */
    public record Timings(long read, long chunkEmbedWrite, long total, LinkedHashMap<String, Long> stages) {}

    /** One {@code embedpipe redrive} of the table. */
    public record Redrive(String runId, String at, long retried, long embedded, long reused, long stillFailing,
                          long requests, long tokensSent, double estimatedCostUsd) {}
}
