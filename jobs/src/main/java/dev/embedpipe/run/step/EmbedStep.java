package dev.embedpipe.run.step;

import dev.embedpipe.run.ResultRows;
import dev.embedpipe.run.TaskHook;

import dev.embedpipe.config.EmbedpipeConfig;
import dev.embedpipe.embed.Embedder;
import dev.embedpipe.embed.EmbedderRegistry;
import dev.embedpipe.embed.ChunkResult;
import dev.embedpipe.embed.GroupEmbedStage;
import dev.embedpipe.embed.HashGroup;
import dev.embedpipe.embed.ModelInfo;
import dev.embedpipe.embed.UnknownTokenCheck;
import dev.embedpipe.progress.ProgressCounters;
import dev.embedpipe.progress.ProgressCounters.Counter;
import dev.embedpipe.report.RequestStatsAccumulator;
import dev.embedpipe.util.Iterators;
import dev.embedpipe.util.SerializableConf;
import dev.embedpipe.write.CheckpointWriter;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.util.TaskCompletionListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.Map;
import java.util.function.LongPredicate;


/**
 * Step 3 of a run: embed what the cache missed, one task per partition, one request input per distinct text,
 * within the run's token budget; vectors are checkpointed as they are paid for.
 */
public final class EmbedStep {
    private static final Logger LOG = LoggerFactory.getLogger(EmbedStep.class);

    private EmbedStep() {}

    /**
     * Every chunk's result, one task per partition: cached groups take their vector; for the others one request input
     * per distinct text, vectors checkpointed under {@code output} as they are paid for, request statistics into
     * {@code requestStats}.
     *
     * @param allowances each partition's token allowance (see {@link Plan#allowances}), or null for no cap
     */
    public static JavaRDD<ChunkResult> embed(SparkSession spark, JavaRDD<HashGroup> groups, EmbedpipeConfig config, ModelInfo model,
                                             String output, int concurrentTasks, long[] allowances, RequestStatsAccumulator requestStats,
                                             ProgressCounters progress) {
        EmbedpipeConfig cfg = config;
        SerializableConf conf = new SerializableConf(spark.sparkContext().hadoopConfiguration());
        TaskHook faults = TaskHook.of(spark);
        return groups.mapPartitions(partition -> {
            TaskContext task = TaskContext.get();
            Embedder embedder = EmbedderRegistry.get(cfg.embedder().provider()).embedder(cfg);
            Embedder.Session session = embedder.openSession(cfg, concurrentTasks);
            progress.attach(session::stats);
            CheckpointWriter checkpoint = new CheckpointWriter(output, String.format("part-%05d-attempt-%d-stage-%d-%d",
                    task.partitionId(), task.attemptNumber(), task.stageId(), task.stageAttemptNumber()), ResultRows.columns(model), conf.get(),
                    EmbedderRegistry.get(cfg.embedder().provider()).failsPerItem());
            Map<String, float[]> paidBefore = CheckpointWriter.earlierAttempts(output, task.partitionId(), task.stageId(), conf.get());
            GroupEmbedStage stage = new GroupEmbedStage(partition, session, embedder.shape(cfg, concurrentTasks),
                    allowances == null ? null : new Allowance(allowances[task.partitionId()]), request -> {
                        for (var done : request) {
                            if (!done.failed()) {
                                checkpoint.append(done.chunk().contentHash(), done.vector());
                            }
                        }
                        checkpoint.requestDone();
                    }, paidBefore, UnknownTokenCheck.of(cfg, model));
            task.addTaskCompletionListener((TaskCompletionListener) done -> {
                stage.close();
                checkpoint.close(); // also when the task fails: what was paid for is kept
                requestStats.add(session.stats());
                session.close();
            });
            return faults.wrap("embed", Iterators.mapped(stage, r -> {
                switch (r.origin()) {
                    case ERROR -> progress.add(Counter.ERRORS, 1);
                    case EMBEDDED, REUSED -> {
                        progress.add(Counter.EMBEDDED, 1);
                        progress.add(Counter.EMBEDDED_TOKENS, r.chunk().tokenCount());
                    }
                    case CACHE -> { } // counted by the plan
                }
                return r;
            }));
        });
    }

    /** The cached groups' results, for a run whose misses are embedded elsewhere (batch mode). */
    public static JavaRDD<ChunkResult> cached(JavaRDD<HashGroup> groups) {
        return groups.filter(HashGroup::hit).flatMap(g -> {
            ChunkResult first = new ChunkResult(g.representative(), g.cached(), null, ChunkResult.Origin.CACHE);
            return g.chunks().stream().map(c -> c == g.representative() ? first : first.forSameText(c)).iterator();
        });
    }

    /**
     * What the embed step has before it, counted in one pass over the groups: chunks the cache has, and per
     * partition the chunks and tokens to send (one representative per distinct text).
     */
    public record Plan(long cachedChunks, long[] chunksToEmbed, long[] tokensToEmbed) {
        public long totalChunksToEmbed() {
            return java.util.Arrays.stream(chunksToEmbed).sum();
        }

        public long totalTokensToEmbed() {
            return java.util.Arrays.stream(tokensToEmbed).sum();
        }

        /**
         * Token allowances per partition when the run has a cap: the cap is handed out to partitions in order, each
         * getting what its missing texts need until the cap is spent. Null when there is no cap.
         */
        public long[] allowances(EmbedpipeConfig config) {
            long cap = tokenCap(config);
            if (cap <= 0) {
                return null;
            }
            long[] allowances = new long[tokensToEmbed.length];
            long left = cap;
            for (int p = 0; p < allowances.length; p++) {
                allowances[p] = Math.min(left, tokensToEmbed[p]);
                left -= allowances[p];
            }
            LOG.info("embedpipe: budget of {} tokens for {} needed", cap, totalTokensToEmbed());
            return allowances;
        }
    }

    public static Plan plan(JavaRDD<HashGroup> groups, int partitions) {
        List<long[]> perPartition = groups.mapPartitionsWithIndex((index, it) -> {
            long[] counts = {index, 0, 0, 0}; // partition, cached chunks, chunks to embed, tokens to embed
            while (it.hasNext()) {
                HashGroup g = it.next();
                counts[g.hit() ? 1 : 2] += g.chunks().size();
                counts[3] += g.hit() ? 0 : g.representative().tokenCount();
            }
            return List.of(counts).iterator();
        }, false).collect();
        long cached = 0;
        long[] chunks = new long[partitions];
        long[] tokens = new long[partitions];
        for (long[] c : perPartition) {
            cached += c[1];
            chunks[(int) c[0]] = c[2];
            tokens[(int) c[0]] = c[3];
        }
        return new Plan(cached, chunks, tokens);
    }

    /** The run's token cap from budget.max_total_tokens and budget.max_cost (the tighter one), 0 for none. */
    public static long tokenCap(EmbedpipeConfig config) {
        return tokenCap(config, config.cost().usdPerMillionTokens());
    }

    /** The same at another price (batch mode's). */
    public static long tokenCap(EmbedpipeConfig config, double usdPerMillionTokens) {
        long cap = config.budget().maxTotalTokens();
        if (config.budget().maxCost() > 0) {
            long byCost = (long) Math.floor(config.budget().maxCost() / usdPerMillionTokens * 1_000_000);
            cap = cap == 0 ? byCost : Math.min(cap, byCost);
        }
        return cap;
    }

    /** Lets chunks through while their tokens fit what is left of a partition's allowance. */
    static final class Allowance implements LongPredicate {
        private long left;

        Allowance(long tokens) {
            this.left = tokens;
        }

        @Override
        public boolean test(long tokens) {
            if (tokens > left) {
                left = 0; // stop here: later, smaller chunks would break the partition's order of work
                return false;
            }
            left -= tokens;
            return true;
        }
    }

}
