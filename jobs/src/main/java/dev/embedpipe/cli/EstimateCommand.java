package dev.embedpipe.cli;

import dev.embedpipe.config.EmbedpipeConfig;
import dev.embedpipe.run.EstimateRun;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

import java.util.concurrent.Callable;

@Command(name = "estimate", mixinStandardHelpOptions = true,
        description = {"Reads, cleans, chunks and tokenizes exactly as 'embed' would (same options), looks the chunks up "
                + "in the cache, and prints the exact tokens, requests, cache hits and cost of the run, without calling "
                + "any API and without writing anything. --output names the run's folder, whose previous table is "
                + "part of the cache.", ""})
final class EstimateCommand implements Callable<Integer> {
    @Mixin
    JobOptions options;

    @Override
    public Integer call() throws Exception {
        JobOptions.Prepared job = options.prepare(false);
        EmbedpipeConfig cfg = job.config();
        return SparkRun.with(job.sparkConf(), spark -> {
            var e = EstimateRun.estimate(spark, cfg, job.files());
            double cost = e.tokens() * cfg.cost().usdPerMillionTokens() / 1_000_000.0;
            double batchCost = e.tokens() * cfg.cost().batchUsdPerMillionTokens() / 1_000_000.0;
            System.out.printf("""
                    embedpipe estimate (provider %s, model %s%s)
                      chunks %,d  cache hits %,d  to embed %,d
                      tokens %,d  requests %,d  cost $%.4f at $%s per million tokens%n""",
                    cfg.embedder().provider(), cfg.embedder().model().isBlank() ? "(default)" : cfg.embedder().model(),
                    cfg.embedder().batchMode() ? ", batch mode" : "",
                    e.chunks(), e.cacheHits(), e.distinctToEmbed(), e.tokens(), e.requests(), cost,
                    cfg.cost().usdPerMillionTokens());
            if (cfg.embedder().provider().equals("openai")) {
                System.out.printf("  batch mode: cost $%.4f at $%s per million tokens (cost.batch_discount %s), answers within 24 h%n",
                        batchCost, cfg.cost().batchUsdPerMillionTokens(), cfg.cost().batchDiscount());
            }
            return EmbedpipeMain.OK;
        });
    }
}
