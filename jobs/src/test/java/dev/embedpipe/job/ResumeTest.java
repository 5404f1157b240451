package dev.embedpipe.job;

import dev.embedpipe.cli.EmbedpipeMain;
import dev.embedpipe.testing.DriverProcess;
import dev.embedpipe.testing.LocalFiles;
import dev.embedpipe.testing.ParquetTables;
import dev.embedpipe.testing.ScriptedEmbeddingServer;
import org.apache.parquet.example.data.Group;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A run killed midway (the driver process, kill -9) and restarted with the same arguments pays again at most for
 * the requests that were in flight: what was paid for was checkpointed as it came back.
 */
class ResumeTest {
    @TempDir
    Path dir;

    private static final int IN_FLIGHT = 2;
    private static final int TASKS = 2;

    private static List<String> args(ScriptedEmbeddingServer server, Path out) {
        return List.of("embed", "--input", LocalFiles.projectHome().resolve("datasets-sample/gsm8k_test_head200.jsonl").toString(),
                "--output", out.toString(), "--master", "local[" + TASKS + "]",
                "--set", "embedder.provider=openai", "--set", "embedder.base_url=" + server.baseUrl(),
                "--set", "embedder.model=text-embedding-3-small", "--set", "embedder.dimensions=8",
                "--set", "limits.max_inputs_per_request=2", "--set", "limits.max_in_flight=" + IN_FLIGHT);
    }

    @Test
    void aKilledRunRestartedPaysAgainOnlyForWhatWasInFlight() throws Exception {
        try (ScriptedEmbeddingServer server = ScriptedEmbeddingServer.start()) {
            server.latency(Duration.ofMillis(150));
            Path out = dir.resolve("out");
            Process driver = startDriver(args(server, out));
            try {
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
                while (server.requestCount() < 40 && System.nanoTime() < deadline && driver.isAlive()) {
                    Thread.sleep(20);
                }
                assertThat(server.requestCount()).as("the first run got well into embedding").isGreaterThanOrEqualTo(40);
            } finally {
                driver.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
            }
            Thread.sleep(500); // let requests the dead driver had sent finish at the server
            int firstRun = server.requestCount();
            assertThat(Files.exists(out.resolve("manifest.json"))).as("the killed run committed nothing").isFalse();

            assertEquals(0, EmbedpipeMain.execute(args(server, out).toArray(String[]::new)));
            int total = server.requestCount();
            int cleanRun = 195 / 2 + TASKS;
            System.out.printf("resume: the killed run made %d requests, both runs %d, a clean run at most %d%n", firstRun, total, cleanRun); // 195 distinct chunks, two per request, a last odd one per partition
            assertThat(total).as("requests over both runs (first run %d)", firstRun)
                    .isLessThanOrEqualTo(cleanRun + TASKS * IN_FLIGHT);

            Set<String> texts = new HashSet<>();
            for (Group g : ParquetTables.rows(out.resolve("embeddings"))) {
                assertArrayEquals(ScriptedEmbeddingServer.vectorFor(g.getString("text", 0), 8), ParquetTables.floats(g, "embedding"), 1e-6f);
                texts.add(g.getString("chunk_id", 0));
            }
            assertEquals(195, texts.size());
            assertThat(Files.exists(out.resolve("_checkpoints"))).as("a committed run removes its checkpoints").isFalse();
        }
    }

    @Test
    void aRetriedTaskTakesWhatItsFailedAttemptPaidFor() throws Exception {
        try (ScriptedEmbeddingServer server = ScriptedEmbeddingServer.start()) {
            Path out = dir.resolve("retried");
            List<String> args = new ArrayList<>(args(server, out));
            args.set(args.indexOf("local[" + TASKS + "]"), "local[" + TASKS + ",4]");
            args.set(args.indexOf("limits.max_in_flight=" + IN_FLIGHT), "limits.max_in_flight=1");
            FaultInjection.failFirstAttempts("embed"); // every embed task's first attempt dies midway
            try {
                assertEquals(0, EmbedpipeMain.execute(args.toArray(String[]::new)));
            } finally {
                FaultInjection.off();
            }
            List<String> sent = new ArrayList<>();
            server.requests().forEach(r -> sent.addAll(r.inputs()));
            assertEquals(195, sent.size(), "every text was paid for once, though tasks failed after paying for some");
            assertEquals(195, new HashSet<>(sent).size());
            assertEquals(195, ParquetTables.rows(out.resolve("embeddings")).size());
        }
    }

    private Process startDriver(List<String> jobArgs) throws Exception {
        return DriverProcess.start(dir.resolve("driver.log"), jobArgs, java.util.Map.of());
    }
}
