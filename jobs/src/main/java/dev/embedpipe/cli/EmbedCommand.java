package dev.embedpipe.cli;

import dev.embedpipe.config.ConfigException;
import dev.embedpipe.embed.remote.ProviderFatalException;
import dev.embedpipe.job.EmbedJob;
import dev.embedpipe.job.RunReport;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

import java.util.concurrent.Callable;

@Command(name = "embed", mixinStandardHelpOptions = true,
        description = {"Reads JSONL documents, cleans, chunks and embeds them, and writes OUTPUT/embeddings/ "
                + "(Parquet), OUTPUT/rejects/, OUTPUT/errors/ and OUTPUT/manifest.json. An existing OUTPUT is replaced "
                + "as a whole when the run succeeds. Vectors of identical chunks in the previous table (or cache.table) "
                + "are reused, so a rerun pays only for what is new.", ""},
        footer = {"", "Every option has a YAML key; --set KEY=VALUE sets any of them, e.g.",
                "  --set clean.min_chars=0 --set chunk.max_tokens=128 --set embedder.batch_size=64",
                "Keys: see conf/local.yaml and README.md."})
final class EmbedCommand implements Callable<Integer> {
    @Mixin
    JobOptions options;

    @Override
    public Integer call() {
        JobOptions.Prepared job;
        try {
            job = options.prepare(true);
        } catch (ConfigException e) {
            System.err.println("embedpipe: " + e.getMessage());
            return EmbedpipeMain.USAGE;
        }
        SparkSession spark = SparkSession.builder().config(job.sparkConf()).getOrCreate();
        try {
            RunReport report = EmbedJob.run(spark, job.config(), job.files());
            System.out.println(report.summary());
            return report.thresholdBreaches().isEmpty() ? EmbedpipeMain.OK : EmbedpipeMain.OVER_THRESHOLD;
        } catch (ConfigException e) { // found once Spark runs, e.g. a Delta table of another model
            System.err.println("embedpipe: " + e.getMessage());
            return EmbedpipeMain.USAGE;
        } catch (RuntimeException e) {
            return failed(e);
        } finally {
            spark.stop();
        }
    }

    static int failed(RuntimeException e) {
        System.err.println("embedpipe: the run failed: " + rootMessage(e));
        org.slf4j.LoggerFactory.getLogger(EmbedCommand.class).error("embedpipe: the run failed", e);
        return EmbedpipeMain.FAILED;
    }

    private static String rootMessage(Throwable e) {
        String text = String.valueOf(e.getMessage());
        int fatal = text.indexOf(ProviderFatalException.class.getSimpleName() + ": ");
        if (fatal >= 0) {
            // An executor's fatal provider answer arrives wrapped in Spark's stage-failure text: show just it.
            String message = text.substring(fatal + ProviderFatalException.class.getSimpleName().length() + 2);
            int end = message.indexOf('\n');
            return end < 0 ? message : message.substring(0, end);
        }
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t == e ? text : text + " (cause: " + t + ")";
    }
}
