package dev.embedpipe.embed.onnx;

import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession.SessionOptions;
import dev.embedpipe.bench.BenchCorpus;
import dev.embedpipe.bench.PeerEmbedBenchmark;
import dev.embedpipe.chunk.Chunk;
import dev.embedpipe.chunk.Chunker;
import dev.embedpipe.config.ConfigLoader;
import dev.embedpipe.config.EmbedpipeConfig;
import dev.embedpipe.embed.EmbedderRegistry;
import dev.embedpipe.embed.ModelInfo;
import dev.embedpipe.read.Document;
import dev.embedpipe.testing.MixedLengthCorpus;
import dev.embedpipe.tokenize.Tokenizers;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Issue 14: ONNX Runtime session options for the local models, measured. Each candidate changes one option of
 * OnnxSessions' defaults; each runs the embed stage as {@link PeerEmbedBenchmark} does (2 task threads, one shared
 * session with 1 intra-op thread per task, batches shaped by tokens) over the same gsm8k_train texts; a discarded
 * warm-up per candidate, then {@code runs} rounds alternating the candidates; medians. Run by hand under the lock:
 * SessionOptionsBenchmark [model=all-MiniLM-L6-v2] [texts=1000] [runs=3].
 */
public final class SessionOptionsBenchmark {
    public static void main(String[] args) throws Exception {
        String model = args.length > 0 ? args[0] : ModelCatalog.DEFAULT;
        int count = args.length > 1 ? Integer.parseInt(args[1]) : 1000;
        int runs = args.length > 2 ? Integer.parseInt(args[2]) : 3;
        int tasks = 2;
        EmbedpipeConfig config = ConfigLoader.defaultsWith(Map.of("embedder.model", model, "embedder.threads_per_task", 1));
        ModelInfo info = EmbedderRegistry.get("local-onnx").modelInfo(config);
        Chunker chunker = new Chunker(Tokenizers.get(info.tokenizer()), info.maxInputTokens(), 0, info.documentText(""));
        List<Chunk> chunks = new ArrayList<>();
        for (String text : MixedLengthCorpus.texts(BenchCorpus.gsm8kTrain(), count)) {
            chunks.addAll(chunker.chunk(new Document("d", text, "{}", 0, "f", 0, 0, 1, null)));
        }

        Map<String, Consumer<SessionOptions>> candidates = new LinkedHashMap<>();
        candidates.put("default (ours)", o -> { });
        candidates.put("optimisation EXTENDED", o -> level(o, SessionOptions.OptLevel.EXTENDED_OPT));
        candidates.put("optimisation BASIC", o -> level(o, SessionOptions.OptLevel.BASIC_OPT));
        candidates.put("execution PARALLEL, 2 inter-op threads", o -> {
            try {
                o.setExecutionMode(SessionOptions.ExecutionMode.PARALLEL);
                o.setInterOpNumThreads(2);
            } catch (OrtException e) {
                throw new IllegalStateException(e);
            }
        });
        candidates.put("memory pattern off", o -> {
            try {
                o.setMemoryPatternOptimization(false);
            } catch (OrtException e) {
                throw new IllegalStateException(e);
            }
        });
        candidates.put("CPU arena off", o -> {
            try {
                o.setCPUArenaAllocator(false);
            } catch (OrtException e) {
                throw new IllegalStateException(e);
            }
        });

        List<String> names = new ArrayList<>(candidates.keySet());
        List<LocalOnnxEmbedder> embedders = new ArrayList<>();
        for (String name : names) {
            LocalOnnxEmbedder embedder = OnnxSessions.createOnLargeStack(new OnnxSessions.Key(info, 1), candidates.get(name));
            PeerEmbedBenchmark.embedInTasks(embedder, config, chunks.subList(0, Math.min(200, chunks.size())), tasks);
            embedders.add(embedder);
        }
        long tokens = chunks.stream().mapToLong(Chunk::tokenCount).sum();
        double[][] seconds = new double[names.size()][runs];
        for (int run = 0; run < runs; run++) {
            for (int c = 0; c < names.size(); c++) {
                long t0 = System.nanoTime();
                PeerEmbedBenchmark.embedInTasks(embedders.get(c), config, chunks, tasks);
                seconds[c][run] = (System.nanoTime() - t0) / 1e9;
                System.out.printf("run %d %-40s %.2f s%n", run, names.get(c), seconds[c][run]);
            }
        }
        System.out.printf("%s, %,d gsm8k_train texts, %,d chunks, %,d tokens, %d tasks x 1 intra-op thread%n",
                model, count, chunks.size(), tokens, tasks);
        System.out.println("| session options | texts/s | tokens/s | runs (s) |");
        for (int c = 0; c < names.size(); c++) {
            double[] s = seconds[c].clone();
            Arrays.sort(s);
            double median = s[s.length / 2];
            System.out.printf("| %s | %.1f | %,.0f | %s |%n", names.get(c), chunks.size() / median, tokens / median,
                    Arrays.toString(Arrays.stream(seconds[c]).mapToObj(x -> String.format("%.2f", x)).toArray()));
        }
        embedders.forEach(LocalOnnxEmbedder::close);
    }

    private static void level(SessionOptions options, SessionOptions.OptLevel level) {
        try {
            options.setOptimizationLevel(level);
        } catch (OrtException e) {
            throw new IllegalStateException(e);
        }
    }
}
