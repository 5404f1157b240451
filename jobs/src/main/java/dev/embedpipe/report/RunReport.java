package dev.embedpipe.report;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.embedpipe.config.ConfigLoader;
import dev.embedpipe.config.EmbedpipeConfig;
import dev.embedpipe.embed.ModelInfo;
import dev.embedpipe.embed.RequestStats;
import dev.embedpipe.read.InputResolver.InputFile;
import dev.embedpipe.tokenize.Tokenizers;
import dev.embedpipe.util.Hashing;
import dev.embedpipe.util.Redaction;

import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

/** What a run did: the manifest written beside its tables and the summary printed at the end. */
public final class RunReport {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private final String runId;
    private final Instant startedAt;
    private final String output;
    private final EmbedpipeConfig config;
    private final ModelInfo model;
    private final List<InputFile> files;
    private final Map<Integer, Counts> perFile;
    private final Counts totals = new Counts();
    private final int parquetFiles;
    private final int partitions;
    private final String master;
    private final String applicationId;
    private final long readMs;
    private final long embedMs;
    private final long wallMs;
    private final RequestStats requests;
    private final long unsent;
    private final dev.embedpipe.write.OutputCommitter committer;
    private final Map<String, Long> stageMs;
    /** output.format=delta: the version committed and MERGE's metrics; null for Parquet output. */
    private dev.embedpipe.write.delta.DeltaOutput.Commit delta;

    public RunReport(String runId, Instant startedAt, String output, EmbedpipeConfig config, ModelInfo model,
              List<InputFile> files, Map<Integer, Counts> perFile, int parquetFiles, int partitions, String master,
              String applicationId, long readMs, long embedMs, long wallMs, RequestStats requests, long unsent,
              dev.embedpipe.write.OutputCommitter committer, Map<String, Long> stageMs) {
        this.committer = committer;
        this.stageMs = stageMs;
        this.requests = requests;
        this.unsent = unsent;
        this.runId = runId;
        this.startedAt = startedAt;
        this.output = output;
        this.config = config;
        this.model = model;
        this.files = files;
        this.perFile = perFile;
        perFile.values().forEach(totals::add);
        this.parquetFiles = parquetFiles;
        this.partitions = partitions;
        this.master = master;
        this.applicationId = applicationId;
        this.readMs = readMs;
        this.embedMs = embedMs;
        this.wallMs = wallMs;
    }

    public void delta(dev.embedpipe.write.delta.DeltaOutput.Commit commit) {
        this.delta = commit;
    }

    public Counts totals() {
        return totals;
    }

    public Counts counts(int fileIndex) {
        return perFile.get(fileIndex);
    }

    public String output() {
        return output;
    }

    public long wallMs() {
        return wallMs;
    }

    /** The quality thresholds this run went over, as "key: actual > limit" lines; empty when none. */
    public List<String> thresholdBreaches() {
        List<String> breaches = new java.util.ArrayList<>();
        if (batch != null && batch.pendingInputs > 0) {
            breaches.add(String.format("batch: %,d texts still pending at the Batch API (errors/ batch_pending; rerun or --collect to collect them)",
                    batch.pendingInputs));
        }
        check(breaches, "quality.max_reject_ratio", rejectRatio(), config.quality().maxRejectRatio());
        check(breaches, "quality.max_error_ratio", errorRatio(), config.quality().maxErrorRatio());
        if (unsent > 0) {
            breaches.add(String.format("budget: %,d chunks not sent, the budget was spent (errors/ budget_exhausted; rerun to continue)", unsent));
        }
        return breaches;
    }

    private static void check(List<String> breaches, String key, double actual, Double limit) {
        if (limit != null && actual > limit) {
            breaches.add(String.format("%s: %.6f > %s", key, actual, limit));
        }
    }

    double rejectRatio() {
        return totals.lines() == 0 ? 0 : (double) totals.rejected() / totals.lines();
    }

    /** Chunks that failed to embed; chunks not sent for the budget (or still pending at the Batch API) are not failures. */
    double errorRatio() {
        return totals.chunks() == 0 ? 0 : (double) (totals.errored() - unsent - pending) / totals.chunks();
    }

    /** Batch mode: what was submitted and collected, and the chunks whose batch has not finished. */
    private dev.embedpipe.embed.remote.BatchRunner.Summary batch;
    private long pending;

    public void batch(dev.embedpipe.embed.remote.BatchRunner.Summary summary, long pendingChunks) {
        this.batch = summary;
        this.pending = pendingChunks;
    }

    public dev.embedpipe.embed.remote.BatchRunner.Summary batch() {
        return batch;
    }

    public String status() {
        if (unsent > 0) {
            return "budget_exhausted";
        }
        if (pending > 0) {
            return "batch_pending";
        }
        return thresholdBreaches().isEmpty() ? "succeeded" : "over_threshold";
    }

    public double chunksPerSecond() {
        return embedMs == 0 ? 0 : totals.chunks() * 1000.0 / embedMs;
    }

    public RequestStats requests() {
        return requests;
    }

    /** Tokens sent (every attempt) at the configured price, plus tokens billed by the Batch API at its price. */
    public double estimatedCost() {
        return requests.tokensSent * config.cost().usdPerMillionTokens() / 1_000_000.0
                + (batch == null ? 0 : batch.tokensBilled * config.cost().batchUsdPerMillionTokens() / 1_000_000.0);
    }

    public String summary() {
        return String.format("""
                embedpipe: run %s %s -> %s
                  documents read %,d  filtered %,d  rejected %,d  skipped lines %,d
                  chunks %,d  tokens %,d  rows written %,d (%d parquet file%s)
                  cached %,d  errored %,d  requests %,d  tokens sent %,d  est. cost $%.4f
                  wall time %.1f s  (embed stage %.1f s, %.1f chunks/s)%s""",
                runId, status().replace('_', ' '), output, totals.documents(), totals.filtered(), totals.rejected(), totals.skipped(),
                totals.chunks(), totals.tokens(), totals.embedded() + totals.cached(), parquetFiles, parquetFiles == 1 ? "" : "s",
                totals.cached(), totals.errored(), requests.requests, requests.tokensSent, estimatedCost(),
                wallMs / 1000.0, embedMs / 1000.0, chunksPerSecond(),
                totals.reconciles() ? "" : "\n  WARNING: counts do not reconcile, see manifest.json")
                + (batch == null ? "" : String.format("%n  batch API: %,d request(s) in %,d new batch(es), %,d attached, %,d collected;"
                        + " %,d tokens billed at $%s per million", batch.requestsSubmitted, batch.batchesCreated, batch.batchesAttached,
                        batch.batchesCollected, batch.tokensBilled, config.cost().batchUsdPerMillionTokens()))
                + (delta == null ? "" : "\n  delta: version " + delta.version() + " (" + delta.operation() + ") " + delta.metrics())
                + thresholdBreaches().stream().map(b -> "\n  OVER THRESHOLD " + b).collect(java.util.stream.Collectors.joining());
    }

    public String manifestJson(Instant finishedAt) {
        ObjectNode root = JSON.createObjectNode();
        ObjectNode tool = root.putObject("tool");
        tool.put("name", "embedpipe");
        tool.put("version", toolVersion());
        root.put("layout", dev.embedpipe.write.OutputFolder.LAYOUT);
        root.put("command", "embed");
        root.put("run_id", runId);
        root.put("status", status());
        root.put("started_at", startedAt.toString());
        root.put("finished_at", finishedAt.toString());
        root.set("config", ConfigLoader.toTree(config));

        ObjectNode modelNode = root.putObject("model");
        modelNode.put("provider", model.provider());
        modelNode.put("model", model.model());
        modelNode.put("dimensions", model.dimensions());
        modelNode.put("max_input_tokens", model.maxInputTokens());
        dev.embedpipe.embed.VectorRecipe recipe = model.recipe();
        modelNode.put("normalized", recipe == null ? "as returned by the provider"
                : (recipe.normalize() ? "yes (" : "no (") + recipe.pooling().configName() + " pooling" + (recipe.normalize() ? ", L2)" : ")"));
        if (recipe != null) {
            // What defines the vectors besides the weights; a manifest without them is mean-pooled, L2, no prompt.
            modelNode.put("pooling", recipe.pooling().configName());
            modelNode.put("normalize", recipe.normalize());
            modelNode.put("document_prompt", recipe.documentPrompt());
            modelNode.put("query_prompt", recipe.queryPrompt());
        }
        if (model.modelLocation() != null) {
            modelNode.put("sha256", sha256Of(model.modelLocation()));
        }
        ObjectNode tokenizer = modelNode.putObject("tokenizer");
        tokenizer.put("name", model.tokenizer().name());
        tokenizer.put("sha256", sha256Of(model.tokenizer().location()));

        ArrayNode inputs = root.putArray("inputs");
        for (InputFile file : files) {
            ObjectNode node = inputs.addObject();
            node.put("path", file.path());
            node.put("bytes", file.bytes());
            node.put("gzip", file.gzip());
            perFile.get(file.index()).writeTo(node.putObject("counts"));
        }
        totals.writeTo(root.putObject("totals"));

        ObjectNode quality = root.putObject("quality");
        quality.put("reject_ratio", rejectRatio());
        quality.put("error_ratio", errorRatio());
        thresholdBreaches().forEach(quality.putArray("breaches")::add);

        ObjectNode outputs = root.putObject("outputs");
        outputs.put("path", output);
        outputs.put("commit", committer.manifestMode() ? "manifest" : "rename");
        outputs.put("format", delta == null ? "parquet" : "delta");
        outputs.put("embeddings", delta == null ? committer.publishedTable("embeddings") : "embeddings/");
        outputs.put("rejects", committer.publishedTable("rejects"));
        outputs.put("errors", committer.publishedTable("errors"));
        outputs.put("embedding_files", parquetFiles);
        outputs.put("rows", totals.embedded() + totals.cached());

        if (delta != null) {
            root.set("delta", delta.toJson());
        }
        ObjectNode sparkNode = root.putObject("spark");
        sparkNode.put("master", master);
        sparkNode.put("application_id", applicationId);
        sparkNode.put("partitions", partitions);

        ObjectNode req = root.putObject("requests");
        req.put("requests", requests.requests);
        req.put("retries", requests.retries);
        req.put("throttled_429", requests.throttled429);
        req.put("server_errors", requests.serverErrors);
        req.put("transport_errors", requests.transportErrors);
        req.put("inputs_sent", requests.inputsSent);
        req.put("tokens_sent", requests.tokensSent);
        req.put("seconds_throttled", Math.round(requests.throttledNanos / 1e7) / 100.0);
        ObjectNode latency = req.putObject("latency_ms");
        latency.put("p50", requests.latencyPercentileMs(0.5));
        latency.put("p90", requests.latencyPercentileMs(0.9));
        latency.put("p99", requests.latencyPercentileMs(0.99));
        req.put("estimated_cost_usd", estimatedCost());
        req.put("counting", "successful task attempts only");
        ObjectNode billed = req.putObject("tokens_billed");
        billed.put("sync", requests.tokensSent);
        billed.put("batch", batch == null ? 0 : batch.tokensBilled);
        if (batch != null) {
            ObjectNode b = root.putObject("batch");
            b.put("files_uploaded", batch.filesUploaded);
            b.put("batches_created", batch.batchesCreated);
            b.put("requests_submitted", batch.requestsSubmitted);
            b.put("inputs_submitted", batch.inputsSubmitted);
            b.put("tokens_submitted", batch.tokensSubmitted);
            b.put("batches_attached", batch.batchesAttached);
            b.put("batches_adopted", batch.batchesAdopted);
            b.put("batches_collected", batch.batchesCollected);
            b.put("batches_requeued", batch.requeued);
            b.put("tokens_billed", batch.tokensBilled);
            b.put("usd_per_million_tokens", config.cost().batchUsdPerMillionTokens());
            b.put("pending_chunks", pending);
        }

        ObjectNode timings = root.putObject("timings_ms");
        timings.put("read", readMs);
        timings.put("chunk_embed_write", embedMs);
        timings.put("total", wallMs);
        ObjectNode stages = timings.putObject("stages");
        stageMs.forEach(stages::put);
        root.put("chunks_per_second", Math.round(chunksPerSecond() * 10) / 10.0);
        try {
            return Redaction.redact(JSON.writeValueAsString(root)); // paths, headers, messages: no key in the manifest
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String sha256Of(String location) {
        return HexFormat.of().formatHex(Hashing.sha256().digest(Tokenizers.readBytes(location)));
    }

    public static String toolVersion() {
        String version = RunReport.class.getPackage().getImplementationVersion();
        return version == null ? "dev" : version;
    }
}
