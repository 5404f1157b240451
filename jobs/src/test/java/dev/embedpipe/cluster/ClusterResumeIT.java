package dev.embedpipe.cluster;

import dev.embedpipe.cli.EmbedpipeMain;
import dev.embedpipe.testing.DriverProcess;
import dev.embedpipe.testing.ParquetTables;
import dev.embedpipe.testing.ScriptedEmbeddingServer;
import org.apache.parquet.example.data.Group;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * On a real standalone cluster (a master and two workers on 127.0.0.1, started from the Maven jars), with the
 * openai provider pointed at a loopback server: losing a worker mid-run, or the driver, costs at most 5% more
 * requests than a clean run, and the table equals a clean run's. The corpus is gsm8k_test (1,295 chunks, four per
 * request: about 325 requests, over 40 x 2 task slots x 2 in flight).
 */
class ClusterResumeIT {
    static final Path HOME = Path.of(System.getProperty("embedpipe.home", "..")).toAbsolutePath().normalize();
    static final Path CORPUS = HOME.resolve("datasets-test/gsm8k_test.jsonl");
    static final int CHUNKS = 1295;
    static final int PER_REQUEST = 4;
    @TempDir
    static Path dir;
    static StandaloneCluster cluster;

    @BeforeAll
    static void startCluster() throws Exception {
        Assumptions.assumeTrue(Files.isRegularFile(CORPUS), "needs " + CORPUS);
        cluster = StandaloneCluster.start(HOME, dir.resolve("cluster"), 2);
    }

    @AfterAll
    static void stopCluster() throws Exception {
        if (cluster != null) {
            cluster.close();
        }
    }

    private static List<String> args(ScriptedEmbeddingServer server, Path out) {
        return List.of("embed", "--input", CORPUS.toString(), "--output", out.toString(), "--master", cluster.master(),
                "--set", "embedder.provider=openai", "--set", "embedder.base_url=" + server.baseUrl(),
                "--set", "embedder.model=text-embedding-3-small", "--set", "embedder.dimensions=8",
                "--set", "limits.max_inputs_per_request=" + PER_REQUEST, "--set", "limits.max_in_flight=2",
                "--set", "input.partition_bytes=262144");
    }

    /** What a clean run sends: each partition packs its texts four at a time. */
    private static int cleanRequests(int partitions) {
        return CHUNKS / PER_REQUEST + partitions;
    }

    /** At most 5% more requests than a clean run would make, and the table a clean run would write. */
    private static void checkAgainstACleanRun(String scenario, ScriptedEmbeddingServer server, Path out) throws Exception {
        int partitions = new com.fasterxml.jackson.databind.ObjectMapper().readTree(out.resolve("manifest.json").toFile())
                .at("/spark/partitions").asInt();
        int clean = cleanRequests(partitions);
        System.out.printf("cluster, %s: %d requests, a clean run %d (%.1f%% more)%n", scenario, server.requestCount(), clean,
                100.0 * (server.requestCount() - clean) / clean);
        assertThat(server.requestCount()).isLessThanOrEqualTo((int) (clean * 1.05));
        checkTable(out);
    }

    private static void checkTable(Path out) throws Exception {
        Set<String> ids = new HashSet<>();
        for (Group g : ParquetTables.rows(out.resolve("embeddings"))) {
            assertArrayEquals(ScriptedEmbeddingServer.vectorFor(g.getString("text", 0), 8), ParquetTables.floats(g, "embedding"), 1e-6f);
            ids.add(g.getString("chunk_id", 0));
        }
        assertEquals(CHUNKS, ids.size());
    }

    @Test
    void losingAWorkerMidRunCostsAtMostFivePercentMoreRequests() throws Exception {
        try (ScriptedEmbeddingServer server = ScriptedEmbeddingServer.start()) {
            server.latency(Duration.ofMillis(100));
            Path out = dir.resolve("worker-lost");
            Map<String, String> settings = cluster.driverSettings();
            settings.forEach(System::setProperty);
            CompletableFuture<Integer> run;
            try {
                run = CompletableFuture.supplyAsync(() -> EmbedpipeMain.execute(args(server, out).toArray(String[]::new)));
                long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
                while (server.requestCount() < 100 && System.nanoTime() < deadline && !run.isDone()) {
                    Thread.sleep(20);
                }
                cluster.killWorker(2);
                assertEquals(0, run.get(10, TimeUnit.MINUTES));
            } finally {
                settings.keySet().forEach(System::clearProperty);
            }
            checkAgainstACleanRun("worker lost", server, out);
        }
    }

    @Test
    void losingTheDriverMidRunAndRerunningCostsAtMostFivePercentMore() throws Exception {
        try (ScriptedEmbeddingServer server = ScriptedEmbeddingServer.start()) {
            server.latency(Duration.ofMillis(100));
            Path out = dir.resolve("driver-lost");
            Map<String, String> settings = cluster.driverSettings();
            Process driver = DriverProcess.start(dir.resolve("driver.log"), args(server, out), settings);
            try {
                long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
                while (server.requestCount() < 120 && System.nanoTime() < deadline && driver.isAlive()) {
                    Thread.sleep(20);
                }
                assertThat(server.requestCount()).isGreaterThanOrEqualTo(120);
            } finally {
                driver.descendants().forEach(ProcessHandle::destroyForcibly);
                driver.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
            }
            Thread.sleep(3000); // the dead driver's executors give up; their last requests land
            settings.forEach(System::setProperty);
            try {
                assertEquals(0, EmbedpipeMain.execute(args(server, out).toArray(String[]::new)));
            } finally {
                settings.keySet().forEach(System::clearProperty);
            }
            checkAgainstACleanRun("driver lost and rerun", server, out);
        }
    }
}
