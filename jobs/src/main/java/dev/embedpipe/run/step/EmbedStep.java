package dev.embedpipe.run.step;

import dev.embedpipe.run.ResultRows;
import dev.embedpipe.run.TaskHook;

import dev.embedpipe.config.EmbedpipeConfig;
import dev.embedpipe.embed.Embedder;
import dev.embedpipe.embed.EmbedderRegistry;
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
import dev.embedpipe.table.OutputSchemas;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.util.TaskCompletionListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Tuple2;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.LongPredicate;

import static org.apache.spark.sql.functions.sum;
import static org.apache.spark.sql.functions.when;

/**
 * Step 3 of a run: embed what the cache missed, one task per partition, one request input per distinct text,
 * within the run's token budget; vectors are checkpointed as they are paid for.
 */
public final class EmbedStep {
    private static final Logger LOG = LoggerFactory.getLogger(EmbedStep.class);

    private EmbedStep() {}

    /**
     * Embeds the groups the cache missed, one task per partition: one request input per distinct text, vectors
     * checkpointed under {@code output} as they are paid for, request statistics into {@code requestStats}.
     */
    public static JavaRDD<Row> embedMisses(SparkSession spark, JavaRDD<HashGroup> groups, EmbedpipeConfig config, ModelInfo model,
                                    String output, int concurrentTasks, long[] allowances, RequestStatsAccumulator requestStats,
                                    ProgressCounters progress) {
        EmbedpipeConfig cfg = config;
        SerializableConf conf = new SerializableConf(spark.sparkContext().hadoopConfiguration());
        TaskHook faults = TaskHook.of(spark);
        return groups.filter(g -> !g.hit()).mapPartitions(misses -> {
            TaskContext task = TaskContext.get();
            Embedder embedder = EmbedderRegistry.get(cfg.embedder().provider()).embedder(cfg);
            Embedder.Session session = embedder.openSession(cfg, concurrentTasks);
            progress.attach(session::stats);
            CheckpointWriter checkpoint = new CheckpointWriter(output, String.format("part-%05d-attempt-%d-stage-%d-%d",
                    task.partitionId(), task.attemptNumber(), task.stageId(), task.stageAttemptNumber()), ResultRows.columns(model), conf.get(),
                    EmbedderRegistry.get(cfg.embedder().provider()).failsPerItem());
            Map<String, float[]> paidBefore = CheckpointWriter.earlierAttempts(output, task.partitionId(), task.stageId(), conf.get());
            GroupEmbedStage stage = new GroupEmbedStage(misses, session, embedder.shape(cfg, concurrentTasks),
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
                if (r.origin() == GroupEmbedStage.Origin.ERROR) {
                    progress.add(Counter.ERRORS, 1);
                } else {
                    progress.add(Counter.EMBEDDED, 1);
                    progress.add(Counter.EMBEDDED_TOKENS, r.chunk().tokenCount());
                }
                String origin = switch (r.origin()) {
                    case EMBEDDED -> OutputSchemas.EMBEDDED;
                    case REUSED -> OutputSchemas.REUSED;
                    case ERROR -> OutputSchemas.ERROR;
                };
                return ResultRows.resultRow(r.chunk(), r.vector(), r.error(), origin, model);
            }));
        });
    }

    /**
     * Token allowances per partition when the run has a cap: the cap is handed out to partitions in order, each
     * getting what its missing texts need until the cap is spent. Null when there is no cap.
     */
    public static long[] allowances(JavaRDD<HashGroup> groups, EmbedpipeConfig config, int partitions) {
        long cap = tokenCap(config);
        if (cap <= 0) {
            return null;
        }
        List<Tuple2<Integer, Long>> needs = groups.filter(g -> !g.hit()).mapPartitionsWithIndex((index, it) -> {
            long tokens = 0;
            while (it.hasNext()) {
                tokens += it.next().representative().tokenCount();
            }
            return List.of(new Tuple2<>(index, tokens)).iterator();
        }, false).collect();
        long[] allowances = new long[partitions];
        long left = cap;
        List<Tuple2<Integer, Long>> inOrder = new ArrayList<>(needs);
        inOrder.sort((a, b) -> Integer.compare(a._1(), b._1()));
        for (Tuple2<Integer, Long> need : inOrder) {
            long give = Math.min(left, need._2());
            allowances[need._1()] = give;
            left -= give;
        }
        LOG.info("embedpipe: budget of {} tokens for {} needed", cap, needs.stream().mapToLong(Tuple2::_2).sum());
        return allowances;
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
