package dev.embedpipe.bench;

import dev.embedpipe.chunk.Chunk;
import dev.embedpipe.config.ConfigLoader;
import dev.embedpipe.config.EmbedpipeConfig;
import dev.embedpipe.embed.Embedder;
import dev.embedpipe.embed.EmbedderRegistry;
import dev.embedpipe.embed.PaddedBatchPlan;
import dev.embedpipe.testing.MixedLengthCorpus;
import dev.embedpipe.tokenize.Tokenizers;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Padding waste (padded tokens the model computes on / real tokens) of the local-onnx embed stage on a corpus of
 * mixed lengths: gsm8k_test questions with, after every 8 of them, a long WordNet document cut into 256-token
 * chunks. Before: batches of {@code embedder.batch_size} in arrival order. After: the stage's plan, windows of
 * 16 batches sorted by length and filled to the padded-token budget. Counting only, no model run.
 * Usage: PaddingWasteBenchmark [short texts=1319] [short per long document=8].
 */
public final class PaddingWasteBenchmark {
    public static void main(String[] args) {
        int shortTexts = args.length > 0 ? Integer.parseInt(args[0]) : 1319;
        int shortPerLong = args.length > 1 ? Integer.parseInt(args[1]) : 8;
        EmbedpipeConfig config = ConfigLoader.defaultsWith(Map.of());
        Embedder embedder = EmbedderRegistry.get("local-onnx").embedder(config);
        List<Chunk> chunks = MixedLengthCorpus.chunks(Tokenizers.get(embedder.model().tokenizer()), shortTexts, shortPerLong);
        Embedder.RequestShape shape = embedder.shape(config, 1);
        int rows = shape.maxInputs();
        int window = rows * 16;
        long real = 0;
        long before = 0;
        long after = 0;
        int callsBefore = 0;
        int callsAfter = 0;
        for (int from = 0; from < chunks.size(); from += window) {
            List<Chunk> part = chunks.subList(from, Math.min(chunks.size(), from + window));
            int[] lengths = part.stream().mapToInt(c -> c.tokenIds().length).toArray();
            for (int length : lengths) {
                real += length;
            }
            List<int[]> arrival = new ArrayList<>();
            for (int b = 0; b < lengths.length; b += rows) {
                int[] batch = new int[Math.min(rows, lengths.length - b)];
                for (int i = 0; i < batch.length; i++) {
                    batch[i] = b + i;
                }
                arrival.add(batch);
            }
            List<int[]> planned = PaddedBatchPlan.plan(lengths, rows, shape.maxTokens());
            before += PaddedBatchPlan.paddedTokens(lengths, arrival);
            after += PaddedBatchPlan.paddedTokens(lengths, planned);
            callsBefore += arrival.size();
            callsAfter += planned.size();
        }
        System.out.printf("%,d chunks (%,d real tokens, %d short texts per 256-token long document); batch_size %d, "
                + "budget %,d padded tokens, window %d%n", chunks.size(), real, shortPerLong, rows, shape.maxTokens(), window);
        System.out.println("| batching | model calls | padded tokens | padded / real |");
        System.out.printf("| arrival order, %d per call | %d | %,d | %.2f |%n", rows, callsBefore, before, (double) before / real);
        System.out.printf("| shaped by tokens | %d | %,d | %.2f |%n", callsAfter, after, (double) after / real);
    }
}
