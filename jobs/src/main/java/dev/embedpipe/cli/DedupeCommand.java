package dev.embedpipe.cli;

import dev.embedpipe.config.ConfigException;
import dev.embedpipe.config.EmbedpipeConfig;
import dev.embedpipe.use.Dedupe;
import dev.embedpipe.use.EmbeddingTable;
import dev.embedpipe.write.RunLease;
import org.apache.hadoop.fs.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.util.Locale;
import java.util.concurrent.Callable;

@Command(name = "dedupe",
        description = {"Lists the pairs of chunks whose cosine similarity is at least the threshold, in DIR/pairs.csv "
                + "with DIR/summary.json. Exact (tile by tile, never an N x N matrix) up to "
                + "100,000 vectors; random-hyperplane LSH beyond, its recall measured against the exact scan on a "
                + "sample of rows.", ""})
final class DedupeCommand extends TableCommand implements Callable<Integer> {
    @Option(names = "--threshold", paramLabel = "COSINE", defaultValue = "0.95", description = "Default: ${DEFAULT-VALUE}")
    float threshold;

    @Option(names = "--method", paramLabel = "METHOD", defaultValue = "auto",
            description = "exact, lsh, or auto: exact up to 100,000 vectors (default: ${DEFAULT-VALUE})")
    String method;

    @Option(names = "--to", paramLabel = "DIR", description = "Folder for the report (default: OUTPUT/dedupe)")
    String to;

    @Option(names = "--threads", paramLabel = "N", description = "Threads (default: the machine's cores)")
    Integer threads;

    @Option(names = "--recall-sample", paramLabel = "N", defaultValue = "256",
            description = "LSH: rows whose pairs are also found exactly, to measure recall; 0 = off (default: ${DEFAULT-VALUE})")
    int recallSample;

    @Override
    public Integer call() {
        Dedupe.Method m = switch (method) {
            case "auto" -> Dedupe.Method.AUTO;
            case "exact" -> Dedupe.Method.EXACT;
            case "lsh" -> Dedupe.Method.LSH;
            default -> throw new ConfigException("--method: exact, lsh or auto, got " + method);
        };
        if (threads != null && threads < 1 || recallSample < 0) {
            throw new ConfigException("--threads must be at least 1 and --recall-sample at least 0");
        }
        EmbeddingTable t = openTable();
        String dir = to != null ? to : new Path(t.output(), "dedupe").toString();
        // Writing into the table's folder: one writer at a time there, as for embed and redrive.
        EmbedpipeConfig cfg = config(t);
        try (RunLease lease = to == null ? JobOptions.lease(t.output(), cfg, sparkConf(cfg), "dedupe") : null) {
            Dedupe.Result r = Dedupe.run(t, threshold, m, threads != null ? threads : Runtime.getRuntime().availableProcessors(),
                    recallSample, dir);
            System.out.printf(Locale.ROOT, "embedpipe: %,d pairs at cosine >= %s among %,d vectors of %s (%s, %s) in %.1f s%n",
                    r.pairs(), threshold, r.rows(), t.output(), r.method(), r.parameters(), r.seconds());
            if (r.method().equals("lsh")) {
                System.out.printf(Locale.ROOT, "  recall: %s on %,d sampled rows (%,d exact pairs); expected at the threshold %.1f%%%n",
                        r.recall() == null ? "not measured (no pairs in the sample)" : String.format(Locale.ROOT, "%.2f%%", r.recall() * 100),
                        r.recallSample(), r.recallPairs(), r.expectedRecall() * 100);
            }
            System.out.println("  report: " + r.report());
            return EmbedpipeMain.OK;
        }
    }
}
