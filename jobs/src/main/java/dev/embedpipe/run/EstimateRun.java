package dev.embedpipe.run;

import dev.embedpipe.run.step.ChunkStep;
import dev.embedpipe.run.step.ReadStep;

import dev.embedpipe.cache.EmbeddingCache;
import dev.embedpipe.chunk.Chunk;
import dev.embedpipe.config.EmbedpipeConfig;
import dev.embedpipe.embed.Embedder;
import dev.embedpipe.embed.EmbedderProvider;
import dev.embedpipe.embed.EmbedderRegistry;
import dev.embedpipe.embed.HashGroup;
import dev.embedpipe.embed.ModelInfo;
import dev.embedpipe.embed.RequestPacker;
import dev.embedpipe.progress.ProgressCounters;
import dev.embedpipe.progress.ProgressReporter;
import dev.embedpipe.read.InputResolver.InputFile;
import dev.embedpipe.write.OutputCommitter;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;

import java.util.ArrayList;
import java.util.List;


/** {@code embedpipe estimate}: the read and chunk steps of a run, then exact tokens and requests for what the cache misses. */
public final class EstimateRun {
    private EstimateRun() {}

    /** What {@code embedpipe estimate} prints: exact tokens and requests for the texts the cache misses. */
    public record Estimate(long chunks, long cacheHits, long distinctToEmbed, long tokens, long requests, int partitions) {}

    public static Estimate estimate(SparkSession spark, EmbedpipeConfig config, List<InputFile> files) {
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        EmbedderProvider provider = EmbedderRegistry.get(config.embedder().provider());
        ModelInfo model = provider.modelInfo(config);
        String output = config.output().path().isBlank() ? null
                : new OutputCommitter(config.output().path(), "estimate", spark.sparkContext().hadoopConfiguration()).outputPath();
        try (ProgressReporter progress = new ProgressReporter(spark.sparkContext(), config.progress().intervalS())) {
            ReadStep.Read read = ReadStep.read(spark, config, files, progress.counters());
            progress.phase("chunk");
            progress.documentsTotal(ReadStep.documentsToChunk(read));
            return estimate(read, config, model, EmbeddingCache.load(spark, config, model, output), progress.counters(),
                    Math.max(1, Math.min(jsc.defaultParallelism(), read.partitions())));
        }
    }

    private static Estimate estimate(ReadStep.Read read, EmbedpipeConfig config, ModelInfo model, JavaPairRDD<String, float[]> cache,
                                     ProgressCounters progress, int concurrentTasks) {
        // No model warm-up on the executors, and the request shape is read once here: counting needs no session there.
        JavaRDD<HashGroup> groups = ChunkStep.hashGroups(read, config, model, cache, progress, false);
        Embedder.RequestShape shape = EmbedderRegistry.get(config.embedder().provider()).embedder(config).shape(config, concurrentTasks);
        int maxInputs = shape.maxInputs();
        var maxTokens = shape.maxTokens();
        List<long[]> parts = groups.mapPartitions(it -> {
            long chunks = 0;
            long hits = 0;
            List<Chunk> toEmbed = new ArrayList<>();
            long tokens = 0;
            while (it.hasNext()) {
                HashGroup g = it.next();
                chunks += g.chunks().size();
                if (g.hit()) {
                    hits += g.chunks().size();
                } else {
                    hits += g.chunks().size() - 1; // the group's other chunks reuse the one vector
                    toEmbed.add(g.representative());
                    tokens += g.representative().tokenCount();
                }
            }
            RequestPacker packer = new RequestPacker(toEmbed.iterator(), maxInputs, maxTokens);
            long requests = 0;
            while (packer.next() != null) {
                requests++;
            }
            return List.of(new long[] {chunks, hits, toEmbed.size(), tokens, requests}).iterator();
        }).collect();
        long[] total = new long[5];
        for (long[] p : parts) {
            for (int i = 0; i < total.length; i++) {
                total[i] += p[i];
            }
        }
        return new Estimate(total[0], total[1], total[2], total[3], total[4], read.partitions());
    }

}
