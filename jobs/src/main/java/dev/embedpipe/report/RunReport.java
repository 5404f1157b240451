package dev.embedpipe.report;

import dev.embedpipe.config.ConfigLoader;
import dev.embedpipe.config.EmbedpipeConfig;
import dev.embedpipe.embed.ModelInfo;
import dev.embedpipe.embed.RequestStats;
import dev.embedpipe.manifest.Manifest;
import dev.embedpipe.read.InputResolver.InputFile;
import dev.embedpipe.tokenize.Tokenizers;
import dev.embedpipe.util.Hashing;

import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

/** What a run did: the manifest written beside its tables and the summary printed at the end. */
public final class RunReport {
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
        return requests.tokensSent() * config.cost().usdPerMillionTokens() / 1_000_000.0
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
                totals.cached(), totals.errored(), requests.requests(), requests.tokensSent(), estimatedCost(),
                wallMs / 1000.0, embedMs / 1000.0, chunksPerSecond(),
                totals.reconciles() ? "" : "\n  WARNING: counts do not reconcile, see manifest.json")
                + (batch == null ? "" : String.format("%n  batch API: %,d request(s) in %,d new batch(es), %,d attached, %,d collected;"
                        + " %,d tokens billed at $%s per million", batch.requestsSubmitted, batch.batchesCreated, batch.batchesAttached,
                        batch.batchesCollected, batch.tokensBilled, config.cost().batchUsdPerMillionTokens()))
                + (delta == null ? "" : "\n  delta: version " + delta.version() + " (" + delta.operation() + ") " + delta.metrics())
                + thresholdBreaches().stream().map(b -> "\n  OVER THRESHOLD " + b).collect(java.util.stream.Collectors.joining());
    }

    public Manifest manifest(Instant finishedAt) {
        dev.embedpipe.embed.VectorRecipe recipe = model.recipe();
        // What defines the vectors besides the weights; a manifest without them is mean-pooled, L2, no prompt.
        Manifest.Model modelPart = new Manifest.Model(model.provider(), model.model(), model.dimensions(),
                model.maxInputTokens(), recipe == null ? "as returned by the provider"
                : (recipe.normalize() ? "yes (" : "no (") + recipe.pooling().configName() + " pooling" + (recipe.normalize() ? ", L2)" : ")"),
                recipe == null ? null : recipe.pooling().configName(), recipe == null ? null : recipe.normalize(),
                recipe == null ? null : recipe.documentPrompt(), recipe == null ? null : recipe.queryPrompt(),
                model.modelLocation() == null ? null : sha256Of(model.modelLocation()),
                new Manifest.Tokenizer(model.tokenizer().name(), sha256Of(model.tokenizer().location())));
        List<Manifest.Input> inputs = files.stream().map(file -> new Manifest.Input(file.path(), file.bytes(), file.gzip(),
                perFile.get(file.index()).toManifest())).toList();
        Manifest.Outputs outputs = new Manifest.Outputs(output, committer.manifestMode() ? "manifest" : "rename",
                delta == null ? Manifest.Outputs.PARQUET : "delta",
                delta == null ? committer.publishedTable("embeddings") : "embeddings/", committer.publishedTable("rejects"),
                committer.publishedTable("errors"), parquetFiles, totals.embedded() + totals.cached());
        Manifest.Requests req = new Manifest.Requests(requests.requests(), requests.retries(), requests.throttled429(),
                requests.serverErrors(), requests.transportErrors(), requests.inputsSent(), requests.tokensSent(),
                Math.round(requests.throttledNanos() / 1e7) / 100.0,
                new Manifest.Latency(requests.latencyPercentileMs(0.5), requests.latencyPercentileMs(0.9),
                        requests.latencyPercentileMs(0.99)),
                estimatedCost(), "successful task attempts only",
                new Manifest.TokensBilled(requests.tokensSent(), batch == null ? 0 : batch.tokensBilled));
        Manifest.Batch batchPart = batch == null ? null : new Manifest.Batch(batch.filesUploaded, batch.batchesCreated,
                batch.requestsSubmitted, batch.inputsSubmitted, batch.tokensSubmitted, batch.batchesAttached,
                batch.batchesAdopted, batch.batchesCollected, batch.requeued, batch.tokensBilled,
                config.cost().batchUsdPerMillionTokens(), pending);
        return new Manifest(new Manifest.Tool(Manifest.TOOL_NAME, toolVersion()), Manifest.LAYOUT, "embed", runId,
                status(), startedAt.toString(), finishedAt.toString(), ConfigLoader.toTree(config), modelPart, inputs,
                totals.toManifest(), new Manifest.Quality(rejectRatio(), errorRatio(), thresholdBreaches()), outputs,
                delta == null ? null : delta.toManifest(), new Manifest.Spark(master, applicationId, partitions), req,
                batchPart, new Manifest.Timings(readMs, embedMs, wallMs, new java.util.LinkedHashMap<>(stageMs)),
                Math.round(chunksPerSecond() * 10) / 10.0, null, null);
    }

    private static String sha256Of(String location) {
        return HexFormat.of().formatHex(Hashing.sha256().digest(Tokenizers.readBytes(location)));
    }

    public static String toolVersion() {
        String version = RunReport.class.getPackage().getImplementationVersion();
        return version == null ? "dev" : version;
    }
}
