package dev.embedpipe.cli;

import dev.embedpipe.config.ConfigException;
import dev.embedpipe.config.ConfigLoader;
import dev.embedpipe.config.EmbedpipeConfig;
import dev.embedpipe.embed.EmbedderRegistry;
import dev.embedpipe.read.InputResolver;
import dev.embedpipe.tokenize.DjlOffline;
import dev.embedpipe.write.OutputFolder;
import dev.embedpipe.write.RunLease;
import dev.embedpipe.write.delta.DeltaSettings;
import org.apache.spark.SparkConf;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The options {@code embed} and {@code estimate} share, and how they become a configuration and a SparkConf. */
final class JobOptions {
    static final String DEFAULT_REDACTION = "(?i)secret|password|token|access[.]?key";
    static final String KEY_REDACTION = "(?i)api[._-]?key|authorization|bearer";

    @Option(names = "--input", paramLabel = "PATH",
            description = "Input file, folder or glob (.jsonl, .jsonl.gz, .ndjson); repeatable. Key: input.paths")
    List<String> inputs = new ArrayList<>();

    @Option(names = "--output", paramLabel = "DIR", description = "Output folder. Key: output.path")
    String output;

    @Option(names = "--config", paramLabel = "FILE",
            description = "YAML configuration (default: conf/local.yaml when present)")
    Path config;

    @Option(names = "--set", paramLabel = "KEY=VALUE", description = "Override one configuration key; repeatable")
    List<String> sets = new ArrayList<>();

    @Option(names = "--master", paramLabel = "URL",
            description = "Spark master. Default: the one spark-submit set, else local[*]. Key: spark.master")
    String master;

    @Option(names = "--max-total-tokens", paramLabel = "N",
            description = "Stop sending past N tokens; the rest waits for a rerun (exit 3). Key: budget.max_total_tokens")
    Long maxTotalTokens;

    @Option(names = "--max-cost", paramLabel = "USD",
            description = "Stop sending past this cost at cost.usd_per_million_tokens (exit 3). Key: budget.max_cost")
    Double maxCost;

    @Option(names = "--rebuild",
            description = "output.format=delta: commit a version replacing every row (e.g. a new model). Key: output.rebuild")
    boolean rebuild;

    EmbedpipeConfig load() {
        return StageChecks.check(ConfigLoader.load(configFile(config), flagValues(), sets));
    }

    /** A command's configuration, Spark settings and input files, all checked before Spark starts. */
    record Prepared(EmbedpipeConfig config, SparkConf sparkConf, List<InputResolver.InputFile> files) {}

    /** @throws ConfigException naming the flag or key, for exit code 2 */
    Prepared prepare(boolean requireOutput) {
        EmbedpipeConfig cfg = load();
        if (requireOutput) {
            ConfigLoader.requireInputAndOutput(cfg);
        } else if (cfg.input().paths().isEmpty()) {
            throw new ConfigException("--input (input.paths): at least one input file, folder or glob is required");
        }
        SparkConf sparkConf = sparkConf(cfg);
        org.apache.hadoop.conf.Configuration hadoop = org.apache.spark.deploy.SparkHadoopUtil.get().newConfiguration(sparkConf);
        if (requireOutput) {
            OutputFolder.checkWritable(cfg.output().path(), cfg.input().paths(), hadoop);
        }
        List<InputResolver.InputFile> files = InputResolver.resolve(cfg.input().paths(), hadoop, OutputFolder::isEmbedpipeOutput);
        return new Prepared(cfg, sparkConf, files);
    }

    /** Takes the run lease on the configured output before any work, saying so when it took over another run's. */
    static RunLease lease(EmbedpipeConfig cfg, SparkConf sparkConf, String command) {
        return lease(cfg.output().path(), cfg, sparkConf, command);
    }

    static RunLease lease(String output, EmbedpipeConfig cfg, SparkConf sparkConf, String command) {
        String runId = java.time.format.DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(java.time.ZoneOffset.UTC)
                .format(java.time.Instant.now()) + "-" + command + "-" + ProcessHandle.current().pid();
        RunLease lease = RunLease.acquire(output, runId, command, cfg.output().leaseTimeoutS(),
                org.apache.spark.deploy.SparkHadoopUtil.get().newConfiguration(sparkConf));
        if (lease.takeover() != null) {
            ErrorReport.oneLine(lease.takeover());
        }
        return lease;
    }

    static Path configFile(Path given) {
        if (given != null) {
            return given;
        }
        String home = System.getProperty("embedpipe.home", System.getenv("EMBEDPIPE_HOME"));
        Path candidate = Path.of(home == null ? "." : home, "conf", "local.yaml");
        return Files.isRegularFile(candidate) ? candidate : null;
    }

    Map<String, Object> flagValues() {
        Map<String, Object> values = new LinkedHashMap<>();
        if (!inputs.isEmpty()) {
            values.put("input.paths", inputs);
        }
        if (output != null) {
            values.put("output.path", output);
        }
        if (master != null) {
            values.put("spark.master", master);
        }
        if (maxTotalTokens != null) {
            values.put("budget.max_total_tokens", maxTotalTokens);
        }
        if (maxCost != null) {
            values.put("budget.max_cost", maxCost);
        }
        if (rebuild) {
            values.put("output.rebuild", true);
        }
        return values;
    }

    /**
     * The master: --master (or spark.master in our YAML) when given; else the one spark-submit set; else local[*].
     */
    static SparkConf sparkConf(EmbedpipeConfig cfg) {
        DjlOffline.ensure();
        SparkConf conf = new SparkConf();
        if (!cfg.spark().master().isBlank()) {
            conf.setMaster(cfg.spark().master());
        } else if (!conf.contains("spark.master")) {
            conf.setMaster("local[*]");
        }
        conf.setIfMissing("spark.app.name", cfg.spark().appName());
        cfg.spark().conf().forEach(conf::setIfMissing);
        if (cfg.progress().intervalS() > 0) {
            // Running tasks report their counters with each heartbeat: beat at least as often as the progress line.
            conf.setIfMissing("spark.executor.heartbeatInterval", Math.min(10, cfg.progress().intervalS()) + "s");
        }
        // No _SUCCESS marker: readers that glob the table folder must see only Parquet files.
        conf.setIfMissing("spark.hadoop.mapreduce.fileoutputcommitter.marksuccessfuljobs", "false");
        conf.setIfMissing("spark.hadoop.parquet.summary.metadata.level", "NONE");
        // Local output: no '.crc' side files beside every output file (Hadoop's checksummed local file system).
        // Only then: S3A buffers uploads on local disk through FileSystem.getLocal, which needs the checksummed one.
        if (isLocalPath(cfg.output().path())) {
            conf.setIfMissing("spark.hadoop.fs.file.impl", "org.apache.hadoop.fs.RawLocalFileSystem");
        }
        // Executors: DJL must never phone home or download.
        conf.setIfMissing("spark.executorEnv.OPT_OUT_TRACKING", "true");
        // Spark's default redaction misses API keys passed as spark.executorEnv.OPENAI_API_KEY and the like:
        // extend it, so they never reach the UI or the event log.
        conf.set("spark.redaction.regex", conf.get("spark.redaction.regex", DEFAULT_REDACTION) + "|" + KEY_REDACTION);
        if (cfg.output().delta()) {
            DeltaSettings.apply(conf);
        }
        if (EmbedderRegistry.get(cfg.embedder().provider()).failsPerItem() && conf.getBoolean("spark.speculation", false)) {
            // A speculative copy of an embed task would pay for its requests twice.
            ErrorReport.oneLine("spark.speculation turned off: a remote provider must not be called twice");
            conf.set("spark.speculation", "false");
        }
        return conf;
    }

    static boolean isLocalPath(String path) {
        return path == null || path.isBlank() || path.startsWith("file:") || !path.matches("^[A-Za-z][A-Za-z0-9+.-]*:.*");
    }
}
