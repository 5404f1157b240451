package dev.embedpipe.bench;

import dev.embedpipe.chunk.Chunk;
import dev.embedpipe.chunk.Chunker;
import dev.embedpipe.config.ConfigLoader;
import dev.embedpipe.config.EmbedpipeConfig;
import dev.embedpipe.embed.EmbedStage;
import dev.embedpipe.embed.Embedder;
import dev.embedpipe.embed.EmbedderRegistry;
import dev.embedpipe.embed.ModelInfo;
import dev.embedpipe.read.Document;
import dev.embedpipe.testing.MixedLengthCorpus;
import dev.embedpipe.tokenize.TextTokenizer;
import dev.embedpipe.tokenize.Tokenizers;
import dev.langchain4j.data.segment.TextSegment;
import dev.langchain4j.model.embedding.EmbeddingModel;
import dev.langchain4j.model.embedding.onnx.allminilml6v2.AllMiniLmL6V2EmbeddingModel;
import dev.langchain4j.model.embedding.onnx.allminilml6v2q.AllMiniLmL6V2QuantizedEmbeddingModel;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * The local-onnx embed stage against langchain4j's in-process all-MiniLM-L6-v2 (fp32 and int8) on the same texts,
 * both on the same ONNX Runtime, in one JVM: a discarded warm-up, then {@code runs} rounds alternating the four
 * runners; medians. Ours: {@code tasks} threads each running an {@link EmbedStage} over its share of the chunks
 * (as Spark's task slots do), one shared session of {@code threads_per_task} intra-op threads. langchain4j: its
 * default, one text per model call spread over all cores. The fp32 peak is numpy's float32 matmul (OpenBLAS) in
 * the same run; the share counts 2 × 10.6 M dense weights FLOPs per real token (attention and padding excluded).
 * Usage: PeerEmbedBenchmark [texts=2000] [tasks=2] [threads_per_task=1] [batch_size=32] [runs=3].
 */
public final class PeerEmbedBenchmark {
    /** all-MiniLM-L6-v2: 6 layers × (4 × 384² attention projections + 2 × 384 × 1536 feed-forward) multiply-adds. */
    private static final double FLOPS_PER_TOKEN = 2.0 * 6 * (4 * 384 * 384 + 2 * 384 * 1536);

    public static void main(String[] args) throws Exception {
        int count = arg(args, 0, 2000);
        int tasks = arg(args, 1, 2);
        int threadsPerTask = arg(args, 2, 1);
        int batchSize = arg(args, 3, 32);
        int runs = arg(args, 4, 3);
        List<String> texts = MixedLengthCorpus.texts(BenchCorpus.gsm8kTrain(), count);
        double peak = numpyPeakGflops();

        String[] names = {"ours fp32", "langchain4j fp32", "ours int8", "langchain4j int8"};
        Runner[] runners = {
                ours("all-MiniLM-L6-v2", texts, tasks, threadsPerTask, batchSize),
                peer(new AllMiniLmL6V2EmbeddingModel()),
                ours("all-MiniLM-L6-v2-int8", texts, tasks, threadsPerTask, batchSize),
                peer(new AllMiniLmL6V2QuantizedEmbeddingModel())};
        long tokens = runners[0].tokens;
        float[][][] vectors = new float[runners.length][][];
        Object[] prepared = new Object[runners.length];
        for (int r = 0; r < runners.length; r++) {
            runners[r].run(runners[r].prepare(texts.subList(0, Math.min(200, texts.size())))); // warm-up, discarded
            prepared[r] = runners[r].prepare(texts);
        }
        double[][] seconds = new double[runners.length][runs];
        for (int run = 0; run < runs; run++) {
            for (int r = 0; r < runners.length; r++) {
                long t0 = System.nanoTime();
                vectors[r] = runners[r].run(prepared[r]);
                seconds[r][run] = (System.nanoTime() - t0) / 1e9;
                System.out.printf("run %d %-17s %.2f s%n", run, names[r], seconds[r][run]);
            }
        }
        System.out.printf("%,d gsm8k_train texts, %,d tokens; ours: %d tasks × %d intra-op threads, batch_size %d; "
                + "fp32 peak (numpy float32 matmul): %s%n", texts.size(), tokens, tasks, threadsPerTask, batchSize,
                peak > 0 ? String.format("%.1f GFLOP/s", peak) : "unavailable");
        System.out.println("| runner | texts/s | tokens/s | share of fp32 peak | cosine to ours (mean / min) |");
        double[] rate = new double[runners.length];
        for (int r = 0; r < runners.length; r++) {
            double[] s = seconds[r].clone();
            Arrays.sort(s);
            double median = s[s.length / 2];
            rate[r] = texts.size() / median;
            double tokensPerSecond = tokens / median;
            String share = peak > 0 ? String.format("%.1f%%", 100 * tokensPerSecond * FLOPS_PER_TOKEN / (peak * 1e9)) : "n/a";
            String agreement = r % 2 == 1 ? cosines(vectors[r - 1], vectors[r]) : "";
            System.out.printf("| %s | %.1f | %.0f | %s | %s |%n", names[r], rate[r], tokensPerSecond, share, agreement);
        }
        System.out.printf("fp32: ours / langchain4j = %.2f (target 1.15); int8: %.2f (target 1.10)%n",
                rate[0] / rate[1], rate[2] / rate[3]);
        System.exit(0); // langchain4j's default executor keeps non-daemon threads
    }

    /** {@code prepare} is untimed: for ours the chunk stage (which tokenizes), for langchain4j the text segments. */
    private abstract static class Runner {
        long tokens;

        abstract Object prepare(List<String> texts);

        abstract float[][] run(Object prepared) throws Exception;
    }

    private static Runner ours(String model, List<String> all, int tasks, int threadsPerTask, int batchSize) {
        EmbedpipeConfig config = ConfigLoader.defaultsWith(Map.of("embedder.model", model,
                "embedder.threads_per_task", threadsPerTask, "embedder.batch_size", batchSize));
        Embedder embedder = EmbedderRegistry.get("local-onnx").embedder(config);
        ModelInfo info = embedder.model();
        TextTokenizer tokenizer = Tokenizers.get(info.tokenizer());
        Chunker chunker = new Chunker(tokenizer, info.maxInputTokens(), 0, info.documentText(""));
        Runner runner = new Runner() {
            @Override
            Object prepare(List<String> texts) {
                List<Chunk> chunks = new ArrayList<>(texts.size());
                for (String text : texts) {
                    chunks.addAll(chunker.chunk(new Document("d", text, "{}", 0, "f", 0, 0, 1, null)));
                }
                return chunks;
            }

            @Override
            @SuppressWarnings("unchecked")
            float[][] run(Object prepared) throws Exception {
                return embedInTasks(embedder, config, (List<Chunk>) prepared, tasks);
            }
        };
        for (String text : all) {
            runner.tokens += chunker.chunk(new Document("d", text, "{}", 0, "f", 0, 0, 1, null)).get(0).tokenCount();
        }
        return runner;
    }

    /** The embed stage as Spark's task slots run it: {@code tasks} threads, each an EmbedStage over its share. */
    public static float[][] embedInTasks(Embedder embedder, EmbedpipeConfig config, List<Chunk> chunks, int tasks)
            throws Exception {
        float[][] out = new float[chunks.size()][];
        Thread[] workers = new Thread[tasks];
        Exception[] failure = new Exception[1];
        int share = (chunks.size() + tasks - 1) / tasks;
        for (int t = 0; t < tasks; t++) {
            int from = Math.min(chunks.size(), t * share);
            int to = Math.min(chunks.size(), from + share);
            workers[t] = new Thread(() -> {
                try (EmbedStage stage = new EmbedStage(chunks.subList(from, to).iterator(),
                        embedder.openSession(config, tasks), embedder.shape(config, tasks))) {
                    for (int i = from; stage.hasNext(); i++) {
                        out[i] = stage.next().vector();
                    }
                } catch (RuntimeException e) {
                    failure[0] = e;
                }
            });
            workers[t].start();
        }
        for (Thread worker : workers) {
            worker.join();
        }
        if (failure[0] != null) {
            throw failure[0];
        }
        return out;
    }

    private static Runner peer(EmbeddingModel model) {
        return new Runner() {
            @Override
            Object prepare(List<String> texts) {
                return texts.stream().map(TextSegment::from).toList();
            }

            @Override
            @SuppressWarnings("unchecked")
            float[][] run(Object prepared) {
                List<TextSegment> segments = (List<TextSegment>) prepared;
                return model.embedAll(segments).content().stream().map(e -> e.vector()).toArray(float[][]::new);
            }
        };
    }

    private static String cosines(float[][] ours, float[][] peer) {
        double sum = 0;
        double min = 1;
        for (int i = 0; i < ours.length; i++) {
            double dot = 0, a = 0, b = 0;
            for (int k = 0; k < ours[i].length; k++) {
                dot += ours[i][k] * peer[i][k];
                a += ours[i][k] * ours[i][k];
                b += peer[i][k] * peer[i][k];
            }
            double c = dot / Math.sqrt(a * b);
            sum += c;
            min = Math.min(min, c);
        }
        return String.format("%.5f / %.5f", sum / ours.length, min);
    }

    /**
     * GFLOP/s of numpy's float32 4096² matmul on 2 threads (best of 5), or -1 when python3 with numpy is missing.
     * OPENBLAS_CORETYPE is removed from its environment: a value inherited from the build (it pins an older kernel)
     * gave 194.5 instead of the machine's AVX-512 peak.
     */
    public static double numpyPeakGflops() {
        String script = "import numpy as n,time\nn.random.seed(0)\na=n.random.rand(4096,4096).astype(n.float32)\n"
                + "b=n.random.rand(4096,4096).astype(n.float32)\na@b\nbest=1e9\nfor _ in range(5):\n"
                + " t=time.perf_counter();a@b;best=min(best,time.perf_counter()-t)\nprint(2*4096**3/best/1e9)\n";
        try {
            ProcessBuilder pb = new ProcessBuilder("python3", "-c", script).redirectErrorStream(true);
            pb.environment().remove("OPENBLAS_CORETYPE");
            pb.environment().put("OPENBLAS_NUM_THREADS", "2");
            pb.environment().put("OMP_NUM_THREADS", "2");
            Process p = pb.start();
            String line;
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                line = r.readLine();
            }
            return p.waitFor() == 0 && line != null ? Double.parseDouble(line.trim()) : -1;
        } catch (Exception e) {
            return -1;
        }
    }

    private static int arg(String[] args, int i, int fallback) {
        return args.length > i ? Integer.parseInt(args[i]) : fallback;
    }
}
