package dev.embedpipe.cli;

import dev.embedpipe.embed.remote.BatchRunner;
import dev.embedpipe.run.EmbedRun;
import dev.embedpipe.report.RunReport;
import dev.embedpipe.write.RunLease;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

import java.util.concurrent.Callable;

@Command(name = "embed", mixinStandardHelpOptions = true,
        description = {"Reads JSONL documents, cleans, chunks and embeds them, and writes OUTPUT/embeddings/ "
                + "(Parquet), OUTPUT/rejects/, OUTPUT/errors/ and OUTPUT/manifest.json. An existing OUTPUT is replaced "
                + "as a whole when the run succeeds; a folder that is not an embedpipe output is refused (exit 2), and "
                + "one run at a time writes an OUTPUT (OUTPUT/_lease.json). Vectors of identical chunks in the previous table (or cache.table) "
                + "are reused, so a rerun pays only for what is new.", ""},
        footer = {"", "Every option has a YAML key; --set KEY=VALUE sets any of them, e.g.",
                "  --set clean.min_chars=0 --set chunk.max_tokens=128 --set embedder.batch_size=64",
                "Keys: see conf/local.yaml and README.md."})
final class EmbedCommand implements Callable<Integer> {
    @Mixin
    JobOptions options;

    @picocli.CommandLine.Option(names = "--submit-only", description = "Batch mode: submit the batches, journal them and exit 0"
            + " without waiting (a later run with --collect collects them)")
    boolean submitOnly;

    @picocli.CommandLine.Option(names = "--collect", description = "Batch mode: collect the batches that finished and commit,"
            + " without waiting; exit 3 while some are still pending")
    boolean collect;

    @Override
    public Integer call() throws Exception {
        JobOptions.Prepared job = options.prepare(true);
        if ((submitOnly || collect) && !job.config().embedder().batchMode()) {
            ErrorReport.oneLine("--submit-only and --collect need embedder.mode=batch");
            return EmbedpipeMain.USAGE;
        }
        if (submitOnly && collect) {
            ErrorReport.oneLine("--submit-only and --collect exclude each other");
            return EmbedpipeMain.USAGE;
        }
        BatchRunner.Step step = submitOnly ? BatchRunner.Step.SUBMIT_ONLY
                : collect ? BatchRunner.Step.COLLECT : BatchRunner.Step.SUBMIT_AND_WAIT;
        String output = job.config().output().path();
        ErrorReport.OutputContext.set(output);
        try (RunLease lease = JobOptions.lease(job.config(), job.sparkConf(), "embed")) {
            return SparkRun.with(job.sparkConf(), spark -> {
                RunReport report = EmbedRun.run(spark, job.config(), job.files(), step);
                if (report == null) {
                    return EmbedpipeMain.OK; // submit-only: said so, nothing committed
                }
                System.out.println(report.summary());
                if (report.thresholdBreaches().isEmpty()) {
                    return EmbedpipeMain.OK;
                }
                ErrorReport.oneLine("the run completed over a threshold (" + String.join("; ", report.thresholdBreaches())
                        + "); the table is committed at " + output + ", see its manifest.json");
                return EmbedpipeMain.OVER_THRESHOLD;
            });
        }
    }
}
