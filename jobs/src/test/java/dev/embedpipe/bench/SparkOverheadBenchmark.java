package dev.embedpipe.bench;

import dev.embedpipe.cli.EmbedpipeMain;
import dev.embedpipe.config.ConfigLoader;
import dev.embedpipe.config.EmbedpipeConfig;
import dev.embedpipe.testing.ScriptedEmbeddingServer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Item 5: what Spark costs. The whole job in local mode (two task slots) over the WordNet glosses with an instant
 * embedder (the scripted loopback server, answering at once in base64) against {@link SingleJvmLoop} doing the
 * same reading, cleaning, chunking, requests and Parquet writing in one JVM. Target: the job within 1.3x the
 * loop's wall time. Runs alternate (loop, job, loop, job...) and the medians are compared. Each job run is followed by
 * a second run into the same output: the warm cache (every vector reused from the first run's table, no request),
 * compared with the same loop.
 */
public final class SparkOverheadBenchmark {
    private static final com.fasterxml.jackson.databind.ObjectMapper STAGES = new com.fasterxml.jackson.databind.ObjectMapper();

    public static void main(String[] args) throws Exception {
        boolean quick = BenchRows.quick(args);
        Path work = BenchRows.dir().resolve("spark-overhead");
        BenchRows.deleteTree(work);
        Files.createDirectories(work);
        Path corpus = BenchCorpus.wordnetGlosses();
        Path input = corpus;
        if (quick) { // one short pass over the first 3,000 glosses: checks the runner, measures nothing
            input = work.resolve("head.jsonl");
            try (Stream<String> lines = Files.lines(corpus)) {
                Files.write(input, (Iterable<String>) lines.limit(3000)::iterator);
            }
        }
        int reps = quick ? 1 : 3;
        int warmUps = quick ? 0 : 1; // a first run in a fresh JVM pays for class loading and JIT: discarded
        long[] loopMs = new long[reps];
        long[] jobMs = new long[reps];
        long[] warmMs = new long[reps];
        long loopRows = 0;
        try (ScriptedEmbeddingServer server = ScriptedEmbeddingServer.start(4).setDimensions(384)) {
            List<String> sets = List.of("embedder.provider=openai", "embedder.base_url=" + server.baseUrl(),
                    "embedder.model=text-embedding-3-small", "embedder.dimensions=384", "embedder.encoding_format=base64",
                    "embedder.api_key_env=PATH", "clean.min_chars=0");
            EmbedpipeConfig cfg = ConfigLoader.load(null, Map.of("input.paths", List.of(input.toString())), sets);
            for (int run = -warmUps; run < reps; run++) {
                int i = Math.max(0, run);
                long t0 = System.nanoTime();
                loopRows = SingleJvmLoop.run(cfg, input, work.resolve("loop-" + (run + warmUps) + ".parquet"));
                loopMs[i] = (System.nanoTime() - t0) / 1_000_000;

                List<String> command = new ArrayList<>(List.of("embed", "--input", input.toString(),
                        "--output", work.resolve("job-" + (run + warmUps)).toString(), "--master", "local[2]"));
                sets.forEach(s -> command.addAll(List.of("--set", s)));
                t0 = System.nanoTime();
                int exit = EmbedpipeMain.execute(command.toArray(String[]::new));
                jobMs[i] = (System.nanoTime() - t0) / 1_000_000;
                if (exit != 0) {
                    throw new IllegalStateException("the job failed with exit " + exit);
                }
                java.io.File manifest = work.resolve("job-" + (run + warmUps)).resolve("manifest.json").toFile();
                System.out.println("  stages of the cold job (ms): " + STAGES.readTree(manifest).at("/timings_ms/stages"));
                t0 = System.nanoTime(); // the same run again into the same output: every vector comes from the cache
                exit = EmbedpipeMain.execute(command.toArray(String[]::new));
                warmMs[i] = (System.nanoTime() - t0) / 1_000_000;
                if (exit != 0) {
                    throw new IllegalStateException("the warm-cache job failed with exit " + exit);
                }
                System.out.println("  stages of the warm job (ms): " + STAGES.readTree(manifest).at("/timings_ms/stages"));
                System.out.printf("run %d%s: loop %.1f s (%,d rows), job %.1f s, job on a warm cache %.1f s%n", run,
                        run < 0 ? " (warm-up, discarded)" : "", loopMs[i] / 1e3, loopRows, jobMs[i] / 1e3, warmMs[i] / 1e3);
            }
        }
        double loop = BenchRows.median(loopMs) / 1e3;
        double job = BenchRows.median(jobMs) / 1e3;
        double ratio = job / loop;
        double warm = BenchRows.median(warmMs) / 1e3;
        double warmRatio = warm / loop;
        BenchRows.write(SparkOverheadBenchmark.class.getSimpleName(), List.of(new BenchRow(5,
                "Whole job, local[2], WordNet glosses (clean.min_chars=0), instant embedder", job, "s wall", loop,
                "s (single-JVM loop)", ratio, "ratio <= 1.3", ratio <= 1.3, String.format(
                        "%,d chunks; medians of %d alternating runs after a discarded warm-up pair (job %s s, loop %s s); the loop reads, cleans, chunks, "
                                + "sends the same requests (4 in flight) and writes the same columns to one zstd Parquet file",
                        loopRows, reps,
                        seconds(jobMs), seconds(loopMs))),
                new BenchRow(5, "Whole job again into the same output (warm cache: every vector reused), as above", warm, "s wall",
                        loop, "s (single-JVM loop, no cache)", warmRatio, "ratio <= 1.3", warmRatio <= 1.3, String.format(
                        "medians of %d runs (warm job %s s); each follows the cold job above into the same output, so the "
                                + "cache is that run's table; no request is sent", reps, seconds(warmMs)))), quick);
    }

    private static String seconds(long[] ms) {
        return Arrays.toString(Arrays.stream(ms).mapToObj(m -> String.format("%.1f", m / 1e3)).toArray());
    }
}
