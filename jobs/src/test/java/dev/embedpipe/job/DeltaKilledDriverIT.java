package dev.embedpipe.job;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.embedpipe.cli.EmbedpipeMain;
import dev.embedpipe.testing.DriverProcess;
import dev.embedpipe.testing.LocalFiles;
import dev.embedpipe.testing.PausingFileSystem;
import dev.embedpipe.testing.ScriptedEmbeddingServer;
import org.apache.parquet.example.data.Group;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * output.format=delta with the driver killed (its own JVM, {@code local[2]}, destroyed forcibly) at three points of
 * a MERGE run on an edited input: mid-embedding, while the Delta commit is being prepared (its data files being
 * written, the log entry not yet), and between the Delta commit and the manifest; also during a first run's write.
 * Each time the previous version
 * stays readable and unchanged (or, in the last case, the new version is already whole), and the rerun commits once,
 * with its txnAppId/txnVersion in the log, to the rows of a clean run. The last two points are reached by
 * {@link PausingFileSystem}, which stops the driver once one file is written.
 */
class DeltaKilledDriverIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    @TempDir
    static Path dir;
    static ScriptedEmbeddingServer server;
    static Path input;
    static Path base;
    static Map<String, Group> baseRows;
    static Map<String, Group> clean;
    static DeltaOutputTest.Edit edit;

    /** Lazily, after the Delta assumption: the table at version 0, the edited input and a clean run's rows on it. */
    @BeforeEach
    void prepare() throws Exception {
        DeltaOutputTest.deltaRunsHere();
        if (base != null) {
            return;
        }
        server = ScriptedEmbeddingServer.start();
        List<String> original = Files.readAllLines(LocalFiles.projectHome().resolve("datasets-sample/gsm8k_test_head200.jsonl"));
        input = dir.resolve("in/docs.jsonl"); // one path for every run: source_file stays the same
        Files.createDirectories(input.getParent());
        Files.write(input, original);
        base = dir.resolve("base");
        assertEquals(0, EmbedpipeMain.execute(args(base).toArray(String[]::new)));
        baseRows = DeltaOutputTest.replay(base.resolve("embeddings"));
        edit = DeltaOutputTest.edit(original);
        Files.write(input, edit.lines());
        Path fresh = dir.resolve("fresh");
        assertEquals(0, EmbedpipeMain.execute(args(fresh).toArray(String[]::new)));
        clean = DeltaOutputTest.replay(fresh.resolve("embeddings"));
    }

    @AfterAll
    static void stopServer() {
        if (server != null) {
            server.close();
        }
    }

    private static List<String> args(Path output) {
        return List.of("embed", "--input", input.toString(), "--output", output.toString(), "--master", "local[2]",
                "--set", "output.format=delta", "--set", "output.sync=mirror",
                "--set", "embedder.provider=openai", "--set", "embedder.base_url=" + server.baseUrl(),
                "--set", "embedder.model=text-embedding-3-small", "--set", "embedder.dimensions=8",
                "--set", "limits.max_inputs_per_request=2", "--set", "limits.max_in_flight=1",
                "--set", "limits.max_attempts=2", "--set", "limits.max_retry_wait_s=1");
    }

    /** A copy of the version-0 table (the log's paths are relative), so each case starts from the same table. */
    private static Path copyOfBase(String name) throws Exception {
        Path out = dir.resolve(name);
        try (Stream<Path> files = Files.walk(base)) {
            for (Path from : files.toList()) {
                Path to = out.resolve(base.relativize(from).toString());
                if (Files.isDirectory(from)) {
                    Files.createDirectories(to);
                } else {
                    Files.copy(from, to);
                }
            }
        }
        return out;
    }

    @Test
    void killedMidEmbeddingTheTableStaysAtVersionZeroAndTheRerunCommitsOnce() throws Exception {
        Path out = copyOfBase("mid-embedding");
        server.latency(Duration.ofMillis(300));
        int before = server.requestCount();
        Process driver = DriverProcess.start(dir.resolve("mid-embedding.log"), args(out), Map.of());
        try {
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
            while (server.requestCount() < before + 4 && System.nanoTime() < deadline && driver.isAlive()) {
                Thread.sleep(10);
            }
            assertThat(driver.isAlive()).as("the driver is still embedding").isTrue();
            assertThat(server.requestCount() - before).isGreaterThanOrEqualTo(4);
        } finally {
            kill(driver);
            server.latency(Duration.ZERO);
        }
        int killedRequests = server.requestCount() - before;
        assertPreviousVersionUntouched(out);
        int rerunRequests = rerunCommitsOnce(out, 1);
        System.out.printf("delta, killed mid-embedding: %d requests before the kill, %d in the rerun%n", killedRequests, rerunRequests);
        assertChangeFeedHoldsTheChangedDocs(out, 1);
    }

    @Test
    void killedWhileTheCommitIsPreparedTheTableStaysAtVersionZeroAndTheRerunCommitsOnce() throws Exception {
        Path out = copyOfBase("commit-prepared");
        // once the MERGE's first data file is in the table: the run has embedded everything, its commit is under way
        killAfterWriting(out, "commit-prepared", Pattern.quote(out.resolve("embeddings").toString()) + "/part-[^/]*\\.parquet");
        assertThat(unlistedDataFiles(out)).as("the unfinished commit's data files, in no version").isNotEmpty();
        assertPreviousVersionUntouched(out);
        rerunCommitsOnce(out, 1);
        assertChangeFeedHoldsTheChangedDocs(out, 1);
    }

    @Test
    void killedBetweenTheDeltaCommitAndTheManifestTheRerunDoesNotApplyTheMergeTwice() throws Exception {
        Path out = copyOfBase("after-commit");
        killAfterWriting(out, "after-commit", Pattern.quote(out.toString()) + "/_staging-[^/]*/manifest\\.json");
        // the commit is in: version 1 is whole, version 0 still readable; the manifest still names the run before
        assertEquals(1, latestVersion(out));
        DeltaOutputTest.assertSameRows(clean, DeltaOutputTest.replay(out.resolve("embeddings")));
        DeltaOutputTest.assertSameRows(baseRows, DeltaOutputTest.replay(out.resolve("embeddings"), 0));
        assertEquals(0, manifest(out).at("/delta/version").asLong());
        JsonNode killedTxn = txn(out, 1);

        int before = server.requestCount();
        int rerunRequests = rerunCommitsOnce(out, 2);
        assertEquals(0, rerunRequests, "every vector is in version 1: nothing is sent again");
        JsonNode metrics = manifest(out).at("/delta/metrics");
        assertEquals(0, metrics.get("numTargetRowsInserted").asLong() + metrics.get("numTargetRowsDeleted").asLong()
                + metrics.get("numTargetRowsUpdated").asLong(), "the rerun's MERGE changes nothing: " + metrics);
        assertThat(DeltaOutputTest.changeFeed(out.resolve("embeddings"), 2)).as("version 2's change feed").isEmpty();
        assertChangeFeedHoldsTheChangedDocs(out, 1); // each change once, in the killed run's version
        assertThat(txn(out, 2).get("version").asLong()).isGreaterThan(killedTxn.get("version").asLong());
        assertEquals(before, server.requestCount());
    }

    @Test
    void killedDuringTheFirstWriteTheRerunCreatesTheTable() throws Exception {
        Path out = dir.resolve("first-write");
        // once the first run's first data file is written: no version exists yet, and none may appear
        killAfterWriting(out, "first-write", Pattern.quote(out.resolve("embeddings").toString()) + "/part-[^/]*\\.parquet");
        assertEquals(-1, latestVersion(out), "no version");
        assertThat(unlistedDataFiles(out)).as("the unfinished write's data files").isNotEmpty();
        assertThat(Files.exists(out.resolve("manifest.json"))).isFalse();
        rerunCommitsOnce(out, 0);
    }

    /** Starts the edited run in its own JVM, paused by {@link PausingFileSystem} after writing {@code pathRegex}, and kills it there. */
    private static void killAfterWriting(Path out, String name, String pathRegex) throws Exception {
        Path marker = dir.resolve(name + ".paused");
        Process driver = DriverProcess.start(dir.resolve(name + ".log"), args(out), Map.of(
                "spark.hadoop.fs.file.impl", PausingFileSystem.class.getName(),
                "spark.hadoop.fs.file.impl.disable.cache", "true",
                "spark.hadoop.fs.pause.path", pathRegex,
                "spark.hadoop.fs.pause.marker", marker.toString()));
        try {
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
            while (!Files.exists(marker) && System.nanoTime() < deadline && driver.isAlive()) {
                Thread.sleep(20);
            }
            assertThat(Files.exists(marker)).as("the driver reached %s (log: %s)", pathRegex, dir.resolve(name + ".log")).isTrue();
        } finally {
            kill(driver);
        }
    }

    private static void kill(Process driver) throws InterruptedException {
        driver.descendants().forEach(ProcessHandle::destroyForcibly);
        driver.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
    }

    /** Version 0 is still the latest, with the rows it had, and the manifest still names it. */
    private static void assertPreviousVersionUntouched(Path out) throws Exception {
        assertEquals(0, latestVersion(out));
        DeltaOutputTest.assertSameRows(baseRows, DeltaOutputTest.replay(out.resolve("embeddings")));
        assertEquals(0, manifest(out).at("/delta/version").asLong());
    }

    /**
     * The rerun (in this JVM) adds exactly one version, {@code version}, carrying the run's txnAppId/txnVersion, and
     * the table then equals a clean run on the edited input.
     *
     * @return the requests the rerun sent
     */
    private static int rerunCommitsOnce(Path out, long version) throws Exception {
        int before = server.requestCount();
        long t0 = System.nanoTime();
        assertEquals(0, EmbedpipeMain.execute(args(out).toArray(String[]::new)));
        System.out.printf("delta rerun of %s: version %d in %d ms, %d requests%n", out.getFileName(), version,
                (System.nanoTime() - t0) / 1_000_000, server.requestCount() - before);
        assertEquals(version, latestVersion(out), "one new version");
        JsonNode delta = manifest(out).at("/delta");
        assertEquals(version, delta.get("version").asLong());
        assertEquals(version - 1, delta.get("previous_version").asLong());
        assertThat(delta.get("applied").asBoolean()).isTrue();
        JsonNode txn = txn(out, version);
        assertEquals(delta.get("txn_app_id").asText(), txn.get("appId").asText());
        assertEquals(delta.get("txn_version").asLong(), txn.get("version").asLong());
        assertEquals(version, txn.get("version").asLong());
        DeltaOutputTest.assertSameRows(clean, DeltaOutputTest.replay(out.resolve("embeddings")));
        return server.requestCount() - before;
    }

    /** The change feed of {@code version} holds exactly the chunks of the documents the edit changed. */
    private static void assertChangeFeedHoldsTheChangedDocs(Path out, long version) throws Exception {
        List<Row> changes = DeltaOutputTest.changeFeed(out.resolve("embeddings"), version);
        Set<String> docs = changes.stream().map(r -> r.<String>getAs("doc_id")).collect(Collectors.toSet());
        Set<String> expected = new HashSet<>(edit.changedDocs());
        Set<String> withRows = new HashSet<>();
        baseRows.values().forEach(g -> withRows.add(g.getString("doc_id", 0)));
        clean.values().forEach(g -> withRows.add(g.getString("doc_id", 0)));
        expected.retainAll(withRows); // filtered documents (too short) have no rows either way
        assertEquals(expected, docs);
    }

    /** Data files in the table folder that no commit of its log adds. */
    private static Set<String> unlistedDataFiles(Path out) throws Exception {
        Set<String> files;
        try (Stream<Path> table = Files.list(out.resolve("embeddings"))) {
            files = table.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("part-") && n.endsWith(".parquet"))
                    .collect(Collectors.toSet());
        }
        try (Stream<Path> log = Files.list(out.resolve("embeddings/_delta_log"))) {
            for (Path commit : log.filter(p -> p.getFileName().toString().matches("\\d{20}\\.json")).toList()) {
                for (String line : Files.readAllLines(commit)) {
                    files.remove(JSON.readTree(line).path("add").path("path").asText());
                }
            }
        }
        return files;
    }

    /** The newest version in the log, -1 when there is no log or no commit in it. */
    private static long latestVersion(Path out) throws Exception {
        if (!Files.isDirectory(out.resolve("embeddings/_delta_log"))) {
            return -1;
        }
        try (Stream<Path> log = Files.list(out.resolve("embeddings/_delta_log"))) {
            return log.map(p -> p.getFileName().toString()).filter(n -> n.matches("\\d{20}\\.json"))
                    .mapToLong(n -> Long.parseLong(n.substring(0, 20))).max().orElse(-1);
        }
    }

    /** The {@code txn} action (Delta's idempotent-write id) of one commit, read from its log file. */
    private static JsonNode txn(Path out, long version) throws Exception {
        List<JsonNode> found = new ArrayList<>();
        for (String line : Files.readAllLines(out.resolve(String.format("embeddings/_delta_log/%020d.json", version)))) {
            JsonNode action = JSON.readTree(line);
            if (action.has("txn")) {
                found.add(action.get("txn"));
            }
        }
        assertEquals(1, found.size(), "one txn action in version " + version);
        assertThat(found.get(0).get("appId").asText()).startsWith("embedpipe:");
        return found.get(0);
    }

    private static JsonNode manifest(Path out) throws Exception {
        return JSON.readTree(out.resolve("manifest.json").toFile());
    }
}
