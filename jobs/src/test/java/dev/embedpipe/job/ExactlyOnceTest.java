package dev.embedpipe.job;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.embedpipe.cli.EmbedpipeMain;
import dev.embedpipe.testing.DriverProcess;
import dev.embedpipe.testing.LocalFiles;
import dev.embedpipe.testing.ParquetTables;
import org.apache.parquet.example.data.Group;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Set;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Output is committed exactly once: retried tasks and a killed driver never leave a partial or mixed table. */
class ExactlyOnceTest {
    @TempDir
    static Path dir;
    static Path input;
    static Map<String, float[]> reference;

    @BeforeAll
    static void cleanReferenceRun() throws IOException {
        input = LocalFiles.projectHome().resolve("datasets-sample/gsm8k_test_head200.jsonl");
        Path out = dir.resolve("reference");
        assertEquals(0, EmbedpipeMain.execute("embed", "--input", input.toString(), "--output", out.toString(), "--master", "local[2]"));
        reference = vectorsById(out);
        assertEquals(195, reference.size());
    }

    @Test
    void tasksThatFailOnTheirFirstAttemptGiveTheSameTable() throws IOException {
        for (String stage : List.of("read", "embed")) {
            Path out = dir.resolve("retried-" + stage);
            int injectedBefore = FaultInjection.injectedInThisJvm();
            FaultInjection.failFirstAttempts(stage);
            try {
                // local[2,4]: two slots, four attempts per task, as a cluster retries
                assertEquals(0, EmbedpipeMain.execute("embed", "--input", input.toString(), "--output", out.toString(),
                        "--master", "local[2,4]"));
            } finally {
                FaultInjection.off();
            }
            assertThat(FaultInjection.injectedInThisJvm()).as("first attempts of %s failed", stage).isGreaterThan(injectedBefore);
            assertSameTable(reference, vectorsById(out), 0f);
            assertEquals(195, new ObjectMapper().readTree(out.resolve("manifest.json").toFile()).at("/totals/embedded").asLong());
        }
    }

    @Test
    void aDriverKilledWhileWritingLeavesThePreviousTableAndARerunCompletesIt() throws Exception {
        Path out = dir.resolve("killed");
        Path small = dir.resolve("small.jsonl");
        Files.writeString(small, "{\"id\":\"p1\",\"text\":\"the previous run's only document\"}\n");
        assertEquals(0, EmbedpipeMain.execute("embed", "--input", small.toString(), "--output", out.toString(),
                "--master", "local[2]", "--set", "clean.min_chars=0"));
        String previousManifest = Files.readString(out.resolve("manifest.json"));
        List<String> previousFiles = names(out.resolve("embeddings"));

        Process driver = startDriver(input, out);
        try {
            assertTrue(waitForEmbeddingWrite(out, driver), "the driver reached the write of the embeddings");
            Thread.sleep(300);
        } finally {
            driver.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
        }

        assertEquals(previousManifest, Files.readString(out.resolve("manifest.json")), "the manifest is the previous run's");
        assertEquals(previousFiles, names(out.resolve("embeddings")), "the table is the previous run's, whole");
        assertEquals(List.of("p1"), ParquetTables.rows(out.resolve("embeddings")).stream().map(g -> g.getString("doc_id", 0)).toList());
        try (Stream<Path> children = Files.list(out)) {
            assertThat(children.map(p -> p.getFileName().toString()).filter(n -> !n.startsWith("_")))
                    .containsExactlyInAnyOrder("embeddings", "rejects", "errors", "manifest.json");
        }

        assertEquals(0, EmbedpipeMain.execute("embed", "--input", input.toString(), "--output", out.toString(), "--master", "local[2]"));
        assertSameTable(reference, vectorsById(out), 1e-6f);
        try (Stream<Path> children = Files.list(out)) {
            assertThat(children.map(p -> p.getFileName().toString())).noneMatch(n -> n.startsWith("_staging-"));
        }
    }

    @Test
    void onObjectStoresTheManifestPublishesTheRunAndAKilledRunLeavesThePreviousOne() throws Exception {
        Path out = dir.resolve("manifest-commit");
        Path small = dir.resolve("three.jsonl");
        Files.writeString(small, "{\"id\":\"m1\",\"text\":\"one\"}\n{\"id\":\"m2\",\"text\":\"two\"}\n{\"id\":\"m3\",\"text\":\"three\"}\n");
        assertEquals(0, EmbedpipeMain.execute("embed", "--input", small.toString(), "--output", out.toString(),
                "--master", "local[2]", "--set", "clean.min_chars=0", "--set", "output.commit=manifest"));
        String previousManifest = Files.readString(out.resolve("manifest.json"));
        assertThat(Files.exists(out.resolve("embeddings"))).as("nothing is renamed into place").isFalse();
        assertEquals(3, listedRows(out, "embeddings"));

        Process driver = startDriver(input, out, "--set", "output.commit=manifest");
        try {
            assertTrue(waitForWrite(out, "runs", driver), "the driver reached the write of the embeddings");
            Thread.sleep(300);
        } finally {
            driver.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
        }
        assertEquals(previousManifest, Files.readString(out.resolve("manifest.json")), "the killed run published nothing");
        assertEquals(3, listedRows(out, "embeddings"), "the files the manifest lists are all there");

        assertEquals(0, EmbedpipeMain.execute("embed", "--input", input.toString(), "--output", out.toString(),
                "--master", "local[2]", "--set", "output.commit=manifest"));
        assertEquals(195, listedRows(out, "embeddings"));
        try (Stream<Path> runs = Files.list(out.resolve("runs"))) {
            assertThat(runs.toList()).as("older runs' folders are removed once the new manifest is in place").hasSize(1);
        }
        // a redrive publishes a whole new run folder, the rejects included
        assertEquals(0, EmbedpipeMain.execute("redrive", "--table", out.toString(), "--master", "local[2]"));
        assertEquals(195, listedRows(out, "embeddings"));
        JsonNode manifest = new ObjectMapper().readTree(out.resolve("manifest.json").toFile());
        assertThat(manifest.at("/files/rejects")).isNotEmpty();
        assertThat(Files.exists(out.resolve(manifest.at("/outputs/rejects").asText()))).isTrue();
    }

    /** Rows in the files the manifest lists for a table, as a reader of an object store would find them. */
    private static int listedRows(Path out, String table) throws IOException {
        JsonNode manifest = new ObjectMapper().readTree(out.resolve("manifest.json").toFile());
        assertEquals("manifest", manifest.at("/outputs/commit").asText());
        int rows = 0;
        for (JsonNode file : manifest.at("/files/" + table)) {
            Path data = out.resolve(file.asText());
            assertTrue(Files.isRegularFile(data), "listed file " + data);
            Path one = dir.resolve("one-" + System.nanoTime());
            Files.createDirectories(one);
            Files.copy(data, one.resolve(data.getFileName()));
            rows += ParquetTables.rows(one).size();
        }
        return rows;
    }

    private static boolean waitForWrite(Path out, String folder, Process driver) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        Set<String> before = new HashSet<>();
        try (Stream<Path> runs = Files.list(out.resolve(folder))) {
            runs.forEach(p -> before.add(p.getFileName().toString()));
        }
        while (System.nanoTime() < deadline && driver.isAlive()) {
            try (Stream<Path> runs = Files.list(out.resolve(folder))) {
                for (Path run : runs.filter(p -> !before.contains(p.getFileName().toString())).toList()) {
                    if (Files.isDirectory(run.resolve("embeddings").resolve("_temporary"))) {
                        return true;
                    }
                }
            }
            Thread.sleep(20);
        }
        return false;
    }

    /** The job in its own JVM, so it can be killed. */
    private static Process startDriver(Path in, Path out, String... extra) throws IOException {
        List<String> args = new ArrayList<>(List.of("embed", "--input", in.toString(), "--output", out.toString(), "--master", "local[2]"));
        args.addAll(List.of(extra));
        return DriverProcess.start(dir.resolve("killed-driver.log"), args, Map.of());
    }

    private static boolean waitForEmbeddingWrite(Path out, Process driver) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (System.nanoTime() < deadline && driver.isAlive()) {
            try (Stream<Path> children = Files.list(out)) {
                for (Path staging : children.filter(p -> p.getFileName().toString().startsWith("_staging-")).toList()) {
                    if (Files.isDirectory(staging.resolve("embeddings").resolve("_temporary"))) {
                        return true;
                    }
                }
            }
            Thread.sleep(20);
        }
        return false;
    }

    private static List<String> names(Path folder) throws IOException {
        return ParquetTables.visibleFiles(folder).stream().map(p -> p.getFileName().toString()).toList();
    }

    private static Map<String, float[]> vectorsById(Path out) throws IOException {
        Map<String, float[]> byId = new TreeMap<>();
        for (Group g : ParquetTables.rows(out.resolve("embeddings"))) {
            float[] previous = byId.put(g.getString("chunk_id", 0), ParquetTables.floats(g, "embedding"));
            assertThat(previous).as("chunk_id %s appears once", g.getString("chunk_id", 0)).isNull();
        }
        return byId;
    }

    private static void assertSameTable(Map<String, float[]> expected, Map<String, float[]> actual, float tolerance) {
        assertEquals(expected.keySet(), actual.keySet());
        expected.forEach((id, v) -> assertArrayEquals(v, actual.get(id), Math.max(tolerance, 1e-6f), id));
    }
}
