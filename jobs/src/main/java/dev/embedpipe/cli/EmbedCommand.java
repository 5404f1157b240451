package dev.embedpipe.cli;

import dev.embedpipe.config.ConfigException;
import dev.embedpipe.config.ConfigLoader;
import dev.embedpipe.config.EmbedpipeConfig;
import dev.embedpipe.embed.EmbedderRegistry;
import dev.embedpipe.embed.remote.ProviderFatalException;
import dev.embedpipe.job.EmbedJob;
import dev.embedpipe.job.RunReport;
import dev.embedpipe.read.InputResolver;
import dev.embedpipe.tokenize.DjlOffline;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.SparkConf;
import org.apache.spark.deploy.SparkHadoopUtil;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "embed", mixinStandardHelpOptions = true,
        description = {"Reads JSONL documents, cleans, chunks and embeds them, and writes OUTPUT/embeddings/ "
                + "(Parquet), OUTPUT/rejects/ and OUTPUT/manifest.json. An existing OUTPUT is replaced as a whole "
                + "when the run succeeds.", ""},
        footer = {"", "Every option has a YAML key; --set KEY=VALUE sets any of them, e.g.",
                "  --set clean.min_chars=0 --set chunk.max_tokens=128 --set embedder.batch_size=64",
                "Keys: see conf/local.yaml and README.md."})
final class EmbedCommand implements Callable<Integer> {
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

    @Override
    public Integer call() {
        EmbedpipeConfig cfg;
        SparkConf sparkConf;
        List<InputResolver.InputFile> files;
        try {
            cfg = ConfigLoader.load(configFile(), flagValues(), sets);
            ConfigLoader.requireInputAndOutput(cfg);
            sparkConf = sparkConf(cfg);
            Configuration hadoop = SparkHadoopUtil.get().newConfiguration(sparkConf);
            files = InputResolver.resolve(cfg.input().paths(), hadoop);
        } catch (ConfigException e) {
            System.err.println("embedpipe: " + e.getMessage());
            return EmbedpipeMain.USAGE;
        }
        SparkSession spark = SparkSession.builder().config(sparkConf).getOrCreate();
        try {
            RunReport report = EmbedJob.run(spark, cfg, files);
            System.out.println(report.summary());
            return report.thresholdBreaches().isEmpty() ? EmbedpipeMain.OK : EmbedpipeMain.OVER_THRESHOLD;
        } catch (RuntimeException e) {
            System.err.println("embedpipe: the run failed: " + rootMessage(e));
            org.slf4j.LoggerFactory.getLogger(EmbedCommand.class).error("embedpipe: the run failed", e);
            return EmbedpipeMain.FAILED;
        } finally {
            spark.stop();
        }
    }

    private Path configFile() {
        if (config != null) {
            return config;
        }
        String home = System.getProperty("embedpipe.home", System.getenv("EMBEDPIPE_HOME"));
        Path candidate = Path.of(home == null ? "." : home, "conf", "local.yaml");
        return Files.isRegularFile(candidate) ? candidate : null;
    }

    private Map<String, Object> flagValues() {
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
        // No _SUCCESS marker: readers that glob the table folder must see only Parquet files.
        conf.setIfMissing("spark.hadoop.mapreduce.fileoutputcommitter.marksuccessfuljobs", "false");
        conf.setIfMissing("spark.hadoop.parquet.summary.metadata.level", "NONE");
        // Local disks: no '.crc' side files beside every output file (Hadoop's checksummed local file system).
        conf.setIfMissing("spark.hadoop.fs.file.impl", "org.apache.hadoop.fs.RawLocalFileSystem");
        // Executors: DJL must never phone home or download.
        conf.setIfMissing("spark.executorEnv.OPT_OUT_TRACKING", "true");
        // Spark's default redaction misses API keys passed as spark.executorEnv.OPENAI_API_KEY and the like:
        // extend it, so they never reach the UI or the event log.
        conf.set("spark.redaction.regex", conf.get("spark.redaction.regex", DEFAULT_REDACTION) + "|" + KEY_REDACTION);
        if (EmbedderRegistry.get(cfg.embedder().provider()).failsPerItem() && conf.getBoolean("spark.speculation", false)) {
            // A speculative copy of an embed task would pay for its requests twice.
            System.err.println("embedpipe: spark.speculation turned off: a remote provider must not be called twice");
            conf.set("spark.speculation", "false");
        }
        return conf;
    }

    static final String DEFAULT_REDACTION = "(?i)secret|password|token|access[.]?key";
    static final String KEY_REDACTION = "(?i)api[._-]?key|authorization|bearer";

    private static String rootMessage(Throwable e) {
        String text = String.valueOf(e.getMessage());
        int fatal = text.indexOf(ProviderFatalException.class.getSimpleName() + ": ");
        if (fatal >= 0) {
            // An executor's fatal provider answer arrives wrapped in Spark's stage-failure text: show just it.
            String message = text.substring(fatal + ProviderFatalException.class.getSimpleName().length() + 2);
            int end = message.indexOf('\n');
            return end < 0 ? message : message.substring(0, end);
        }
        return fullMessage(e);
    }

    private static String fullMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t == e ? String.valueOf(e.getMessage()) : e.getMessage() + " (cause: " + t + ")";
    }
}
