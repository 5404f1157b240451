package dev.embedpipe.run.step;

import dev.embedpipe.chunk.Chunk;
import dev.embedpipe.chunk.ChunkStage;
import dev.embedpipe.chunk.Chunker;
import dev.embedpipe.config.EmbedpipeConfig;
import dev.embedpipe.embed.EmbedderRegistry;
import dev.embedpipe.embed.HashGroup;
import dev.embedpipe.embed.ModelInfo;
import dev.embedpipe.embed.UnknownTokenCheck;
import dev.embedpipe.progress.ProgressCounters;
import dev.embedpipe.progress.ProgressCounters.Counter;
import dev.embedpipe.read.Document;
import dev.embedpipe.tokenize.Tokenizers;
import dev.embedpipe.util.Iterators;
import org.apache.spark.HashPartitioner;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import scala.Tuple2;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;


/**
 * Step 2 of a run: chunk the documents and look up the cache: chunks are grouped by content hash together with the
 * cache's vectors (one cogroup: a join, not a lookup per row), so identical texts meet once and cached ones carry
 * their vector.
 */
public final class ChunkStep {
    private ChunkStep() {}

    /**
     * Chunks the documents and groups the chunks by content hash with the cache's vectors, into the same number of
     * partitions: identical texts meet once, and cached ones carry their vector.
     */
    public static JavaRDD<HashGroup> hashGroups(ReadStep.Read read, EmbedpipeConfig config, ModelInfo model,
                                                JavaPairRDD<String, float[]> cache, ProgressCounters progress, boolean warmModel) {
        EmbedpipeConfig cfg = config;
        boolean localModel = model.modelLocation() != null;
        JavaPairRDD<String, Chunk> chunks = read.spread().filter(r -> r instanceof Document).map(r -> (Document) r)
                .mapPartitionsToPair(documents -> {
                    if (warmModel) { // the embed step that follows finds the model loaded
                        EmbedderRegistry.get(cfg.embedder().provider()).warmUp(cfg);
                    }
                    Chunker chunker = new Chunker(Tokenizers.get(model.tokenizer()), cfg.chunk().maxTokens(), cfg.chunk().overlapTokens(),
                            model.documentText(""));
                    Iterator<Document> counted = Iterators.mapped(documents, d -> {
                        progress.add(Counter.DOCUMENTS_CHUNKED, 1);
                        return d;
                    });
                    return Iterators.mapped(new ChunkStage(counted, chunker), c -> {
                        progress.add(Counter.CHUNKS, 1);
                        progress.add(Counter.CHUNK_TOKENS, c.tokenCount());
                        // A local model's ids travel to it (tokenized once); a remote API takes text.
                        return new Tuple2<>(c.contentHash(), localModel ? c : c.withoutTokenIds());
                    });
                });
        return group(chunks, cache, read.partitions(), UnknownTokenCheck.of(config, model));
    }

    /**
     * Chunks by content hash, with the cache's vector for that hash if it has one, in {@code partitions} partitions.
     * A text the unknown-token check refuses never takes a cached vector: it goes on to become an error.
     */
    public static JavaRDD<HashGroup> group(JavaPairRDD<String, Chunk> chunks, JavaPairRDD<String, float[]> cache, int partitions,
                                    UnknownTokenCheck unknownCheck) {
        return chunks.cogroup(cache, new HashPartitioner(partitions)).map(keyed -> {
            List<Chunk> same = new ArrayList<>();
            keyed._2()._1().forEach(same::add);
            if (same.isEmpty()) {
                return null; // a cached text this run does not have
            }
            same.sort(Comparator.comparing(Chunk::chunkId)); // the representative does not depend on shuffle order
            Iterator<float[]> cached = keyed._2()._2().iterator();
            boolean usable = cached.hasNext() && (unknownCheck == null || unknownCheck.refusal(same.get(0)) == null);
            return new HashGroup(keyed._1(), same, usable ? cached.next() : null);
        }).filter(Objects::nonNull);
    }

}
