package dev.embedpipe.cli;

import dev.embedpipe.config.ConfigLoader;
import dev.embedpipe.config.EmbedpipeConfig;
import dev.embedpipe.embed.remote.BatchApi;
import dev.embedpipe.embed.remote.BatchJournal;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "batches", mixinStandardHelpOptions = true,
        description = {"Lists the Batch API batches an output folder's runs have in flight (embedder.mode=batch), from "
                + "the journals in OUTPUT/_batches/, with their status at the API; --cancel cancels them. A later run (or "
                + "--collect) collects what a cancelled batch completed; the rest land in errors/ as batch_cancelled.", ""})
final class BatchesCommand implements Callable<Integer> {
    @Option(names = "--table", paramLabel = "OUT", required = true, description = "The output folder of the runs")
    String table;

    @Option(names = "--config", paramLabel = "FILE", description = "YAML configuration (for embedder.base_url and the key)")
    Path configFile;

    @Option(names = "--set", paramLabel = "KEY=VALUE", description = "Override one configuration key; repeatable")
    List<String> sets = new ArrayList<>();

    @Option(names = "--cancel", description = "Cancel every batch still in flight")
    boolean cancel;

    @Override
    public Integer call() {
        // ConfigException (exit 2) and failures (exit 1) reach ErrorReport, the one mapper for every command.
        EmbedpipeConfig config = StageChecks.check(ConfigLoader.load(configFile, Map.of("embedder.provider", "openai"), sets));
        BatchApi api = new BatchApi(config);
        List<BatchJournal> journals = BatchJournal.open(table, new org.apache.hadoop.conf.Configuration());
        int inFlight = 0;
        System.out.printf("%-26s %-24s %-12s %12s %10s %12s%n", "run", "batch", "status", "done/total", "inputs", "tokens");
        for (BatchJournal j : journals) {
            for (BatchJournal.Entry e : j.open()) {
                if (e.batchId == null) {
                    System.out.printf("%-26s %-24s %-12s %12s %,10d %,12d%n", j.runId(), "-", "not created", "-", e.inputs, e.tokens);
                    continue;
                }
                BatchApi.Batch b = api.get(e.batchId);
                if (cancel && !b.finished()) {
                    b = api.cancel(e.batchId);
                }
                inFlight += b.finished() ? 0 : 1;
                System.out.printf("%-26s %-24s %-12s %12s %,10d %,12d%n", j.runId(), b.id(), b.status(),
                        b.completed() + "/" + b.total(), e.inputs, e.tokens);
            }
        }
        System.out.printf("embedpipe: %d batch(es) %s%n", inFlight, cancel ? "being cancelled (a rerun or --collect collects what completed)"
                : "in flight");
        return EmbedpipeMain.OK;
    }
}
