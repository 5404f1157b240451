package dev.embedpipe.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.embedpipe.cli.EmbedpipeMain;
import dev.embedpipe.testing.DriverProcess;
import dev.embedpipe.testing.ScriptedBatchServer;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Batch mode at scale against the scripted Batch API server (instant answers): the first N lines of the WordNet
 * glosses (default 100,000, one chunk each), a clean run, then a run whose driver is killed right after its first
 * batch is created and a rerun. Prints requests and batch files submitted, the live and batch price, and the
 * submissions over the killed-and-rerun pair. Not a test: run with jobs/bin/bench-batch [lines].
 */
public final class BatchScaleRun {
    private static final double USD_PER_MILLION = 0.02; // text-embedding-3-small

    public static void main(String[] args) throws Exception {
        int lines = args.length > 0 ? Integer.parseInt(args[0]) : 100_000;
        Path home = Path.of(System.getProperty("embedpipe.home", "..")).toAbsolutePath().normalize();
        Path work = Files.createTempDirectory("batch-scale");
        Path input = work.resolve("glosses.jsonl");
        try (BufferedReader in = Files.newBufferedReader(BenchCorpus.wordnetGlosses());
             BufferedWriter out = Files.newBufferedWriter(input, StandardCharsets.UTF_8)) {
            for (int i = 0; i < lines; i++) {
                String line = in.readLine();
                if (line == null) {
                    break;
                }
                out.write(line);
                out.newLine();
            }
        }
        try (ScriptedBatchServer server = ScriptedBatchServer.start()) {
            Path clean = work.resolve("clean");
            int exit = EmbedpipeMain.execute(args(input, clean, server).toArray(String[]::new));
            JsonNode m = new ObjectMapper().readTree(clean.resolve("manifest.json").toFile());
            long tokens = m.at("/totals/tokens").asLong();
            System.out.printf("%nclean run (exit %d): %,d chunks, %,d embedded, %,d tokens (cl100k); %,d requests in %,d batch file(s) /"
                            + " %,d batch(es); at $%s per million: live price $%.4f, batch price $%.4f; the server billed %,d tokens"
                            + " (its own count) = $%.4f at the batch price%n",
                    exit, m.at("/totals/chunks").asLong(), m.at("/totals/embedded").asLong(), tokens,
                    m.at("/batch/requests_submitted").asLong(), m.at("/batch/files_uploaded").asLong(),
                    m.at("/batch/batches_created").asLong(), USD_PER_MILLION, tokens * USD_PER_MILLION / 1e6,
                    tokens * m.at("/batch/usd_per_million_tokens").asDouble() / 1e6, m.at("/batch/tokens_billed").asLong(),
                    m.at("/requests/estimated_cost_usd").asDouble());
            long cleanBatches = server.batchesCreated();
            int cleanInputs = server.inputsSubmitted().size();

            Path killed = work.resolve("killed");
            server.hold(true);
            Process driver = DriverProcess.start(work.resolve("killed.log"), args(input, killed, server),
                    Map.of("log4j2.configurationFile", home.resolve("conf/log4j2.properties").toString()));
            while (server.batchesCreated() == cleanBatches && driver.isAlive()) {
                Thread.sleep(10);
            }
            driver.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
            long beforeKill = server.batchesCreated() - cleanBatches;
            int inputsBeforeKill = server.inputsSubmitted().size() - cleanInputs;
            server.hold(false);
            int rerunExit = EmbedpipeMain.execute(args(input, killed, server).toArray(String[]::new));
            JsonNode r = new ObjectMapper().readTree(killed.resolve("manifest.json").toFile());
            List<String> all = server.inputsSubmitted();
            List<String> pair = new ArrayList<>(all.subList(cleanInputs, all.size()));
            System.out.printf("killed-and-rerun: %d batch(es) created before the kill; the rerun (exit %d) created %d and attached to %d;"
                            + " texts submitted over both %,d (distinct %,d; clean run %,d); same table as the clean run: %s%n",
                    beforeKill, rerunExit, r.at("/batch/batches_created").asLong(), r.at("/batch/batches_attached").asLong(),
                    pair.size(), new HashSet<>(pair).size(), cleanInputs, sameTable(clean, killed));
            System.out.printf("texts submitted before the kill %,d, by the rerun %,d%n", inputsBeforeKill, r.at("/batch/inputs_submitted").asLong());
        }
    }

    private static boolean sameTable(Path a, Path b) throws Exception {
        var spark = org.apache.spark.sql.SparkSession.builder().master("local[2]").getOrCreate();
        try {
            var x = spark.read().parquet(a.resolve("embeddings").toString()).select("chunk_id", "embedding");
            var y = spark.read().parquet(b.resolve("embeddings").toString()).select("chunk_id", "embedding");
            return x.count() == y.count() && x.except(y).isEmpty() && y.except(x).isEmpty();
        } finally {
            spark.stop();
        }
    }

    private static List<String> args(Path input, Path output, ScriptedBatchServer server) {
        return List.of("embed", "--input", input.toString(), "--output", output.toString(), "--master", "local[2]",
                "--set", "embedder.provider=openai", "--set", "embedder.base_url=" + server.baseUrl(),
                "--set", "embedder.model=text-embedding-3-small", "--set", "embedder.dimensions=8",
                "--set", "embedder.api_key_env=PATH", "--set", "embedder.mode=batch", "--set", "limits.batch_poll_s=1",
                "--set", "cost.usd_per_million_tokens=" + USD_PER_MILLION, "--set", "progress.interval_s=0",
                "--set", "clean.min_chars=0"); // glosses are short: every line is a chunk
    }
}
