package dev.embedpipe.bench;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import com.fasterxml.jackson.databind.JsonNode;
import dev.embedpipe.cli.EmbedpipeMain;
import dev.embedpipe.config.ConfigLoader;
import dev.embedpipe.config.EmbedpipeConfig;
import dev.embedpipe.embed.EmbedderRegistry;
import dev.embedpipe.embed.ModelInfo;
import dev.embedpipe.testing.ParquetTables;
import dev.embedpipe.tokenize.TextTokenizer;
import dev.embedpipe.tokenize.Tokenizers;
import org.apache.parquet.example.data.Group;

import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Item 2: the job's local-onnx embed stage inside Spark local mode (two task slots, one intra-op thread per task,
 * batches of 32) against a bare ONNX Runtime loop: the same model and session options, the same chunk texts
 * pre-tokenized, batched 32 at a time with the same length grouping (windows of four batches), run by two threads
 * sharing one session as the two tasks do. The job's figure is chunks over the manifest's embed stage time.
 */
public final class LocalEmbedBenchmark {
    static final int BATCH = 32;
    static final int THREADS = 2;

    public static void main(String[] args) throws Exception {
        boolean quick = BenchRows.quick(args);
        Path work = BenchRows.dir().resolve("local-embed");
        BenchRows.deleteTree(work);
        Path input = quick ? BenchCorpus.home().resolve("datasets-sample/gsm8k_test_head200.jsonl")
                : BenchCorpus.gsm8kTest();
        int reps = quick ? 1 : 3;
        int warmUps = quick ? 0 : 1; // a first run in a fresh JVM pays for class loading and JIT: discarded
        long[] jobRate = new long[reps];
        long[] bareRate = new long[reps];
        long chunks = 0;
        List<String> texts = null;
        EmbedpipeConfig cfg = ConfigLoader.load(null, Map.of(), List.of());
        ModelInfo model = EmbedderRegistry.get("local-onnx").modelInfo(cfg);
        for (int run = -warmUps; run < reps; run++) {
            int i = Math.max(0, run);
            Path out = work.resolve("job-" + (run + warmUps));
            int exit = EmbedpipeMain.execute("embed", "--input", input.toString(), "--output", out.toString(),
                    "--master", "local[" + THREADS + "]", "--set", "cache.enabled=false");
            if (exit != 0) {
                throw new IllegalStateException("the job failed with exit " + exit);
            }
            JsonNode manifest = BenchRows.JSON.readTree(out.resolve("manifest.json").toFile());
            chunks = manifest.at("/totals/embedded").asLong();
            long embedMs = manifest.at("/timings_ms/stages/embed").asLong();
            jobRate[i] = Math.round(chunks * 1000.0 / embedMs * 10); // tenths of sentences/s
            if (texts == null) {
                texts = new ArrayList<>();
                for (Group row : ParquetTables.rows(out.resolve("embeddings"))) {
                    texts.add(row.getString("text", 0));
                }
            }
            bareRate[i] = Math.round(bareLoop(model, texts) * 10);
            System.out.printf("run %d%s: job %.1f/s, bare %.1f/s%n", run, run < 0 ? " (warm-up, discarded)" : "",
                    jobRate[i] / 10.0, bareRate[i] / 10.0);
        }
        double job = BenchRows.median(jobRate) / 10;
        double bare = BenchRows.median(bareRate) / 10;
        BenchRows.write(LocalEmbedBenchmark.class.getSimpleName(), List.of(BenchRow.ratio(2,
                "local-onnx embed stage in local[2] vs bare ONNX Runtime loop (gsm8k chunks)", job, "sentences/s", bare,
                "sentences/s (bare loop)", 0.9, String.format("%,d chunks, batch %d, %d tasks x 1 intra-op thread; medians of %d after a discarded warm-up run; "
                        + "the stage includes session start, reading the shuffle, checkpoints and writing results", chunks, BATCH,
                        THREADS, reps))), quick);
    }

    /** Sentences per second of a bare session loop over {@code texts} (tokenized before timing). */
    static double bareLoop(ModelInfo model, List<String> texts) throws Exception {
        TextTokenizer tokenizer = Tokenizers.get(model.tokenizer());
        List<long[]> ids = new ArrayList<>();
        for (String text : texts) {
            ids.add(tokenizer.ids(text));
        }
        List<List<long[]>> batches = new ArrayList<>();
        int window = BATCH * 4;
        for (int w = 0; w < ids.size(); w += window) {
            List<long[]> part = new ArrayList<>(ids.subList(w, Math.min(ids.size(), w + window)));
            part.sort(Comparator.comparingInt(a -> a.length));
            for (int b = 0; b < part.size(); b += BATCH) {
                batches.add(part.subList(b, Math.min(part.size(), b + BATCH)));
            }
        }
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        OrtSession[] session = new OrtSession[1];
        Exception[] failure = new Exception[1];
        Thread init = new Thread(null, () -> { // ONNX Runtime's model loading needs a large native stack
            try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
                options.setIntraOpNumThreads(1);
                session[0] = env.createSession(Tokenizers.readBytes(model.modelLocation()), options);
            } catch (Exception e) {
                failure[0] = e;
            }
        }, "bare-onnx-init", 64L << 20);
        init.start();
        init.join();
        if (failure[0] != null) {
            throw failure[0];
        }
        boolean tokenTypes = session[0].getInputNames().contains("token_type_ids");
        AtomicInteger next = new AtomicInteger();
        long t0 = System.nanoTime();
        List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < THREADS; t++) {
            Thread worker = new Thread(() -> {
                for (int b = next.getAndIncrement(); b < batches.size(); b = next.getAndIncrement()) {
                    run(env, session[0], batches.get(b), tokenTypes);
                }
            });
            worker.start();
            workers.add(worker);
        }
        for (Thread worker : workers) {
            worker.join();
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        session[0].close();
        return texts.size() / seconds;
    }

    private static void run(OrtEnvironment env, OrtSession session, List<long[]> batch, boolean tokenTypes) {
        int seq = batch.stream().mapToInt(a -> a.length).max().orElse(0);
        long[] flat = new long[batch.size() * seq];
        long[] mask = new long[batch.size() * seq];
        for (int i = 0; i < batch.size(); i++) {
            long[] row = batch.get(i);
            System.arraycopy(row, 0, flat, i * seq, row.length);
            java.util.Arrays.fill(mask, i * seq, i * seq + row.length, 1L);
        }
        long[] shape = {batch.size(), seq};
        Map<String, OnnxTensor> feed = new HashMap<>();
        try {
            feed.put("input_ids", OnnxTensor.createTensor(env, LongBuffer.wrap(flat), shape));
            feed.put("attention_mask", OnnxTensor.createTensor(env, LongBuffer.wrap(mask), shape));
            if (tokenTypes) {
                feed.put("token_type_ids", OnnxTensor.createTensor(env, LongBuffer.wrap(new long[flat.length]), shape));
            }
            try (OrtSession.Result ignored = session.run(feed)) {
                // the output's first tensor is what the job pools; reading it is not part of the model's time
            }
        } catch (Exception e) {
            throw new IllegalStateException(e);
        } finally {
            feed.values().forEach(OnnxTensor::close);
        }
    }
}
