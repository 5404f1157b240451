package dev.embedpipe.manifest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import dev.embedpipe.cli.EmbedpipeMain;
import dev.embedpipe.embed.VectorRecipe;
import dev.embedpipe.job.DeltaOutputTest;
import dev.embedpipe.testing.LocalFiles;
import dev.embedpipe.use.EmbeddingTable;
import dev.embedpipe.write.delta.DeltaSettings;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The README's run over datasets-sample/ writes the manifest the release before the typed manifest wrote (the
 * fixtures in src/test/resources/manifests/, made by that release with the same command): the same fields, values
 * and order, apart from what differs from run to run (ids, times, paths, Spark's application). And a table whose
 * manifest an earlier release wrote opens in the {@code use/} commands.
 */
class ManifestCompatibilityTest {
    private static final ObjectMapper TREE = new ObjectMapper();

    @TempDir
    static Path dir;
    static Path parquet;

    @BeforeAll
    static void embedTheSample() {
        parquet = dir.resolve("parquet");
        assertEquals(0, embed(parquet));
    }

    private static int embed(Path output, String... sets) {
        List<String> args = new ArrayList<>(List.of("embed", "--input", LocalFiles.projectHome().resolve("datasets-sample").toString(),
                "--output", output.toString(), "--master", "local[2]"));
        for (String set : sets) {
            args.addAll(List.of("--set", set));
        }
        return EmbedpipeMain.execute(args.toArray(String[]::new));
    }

    /** The manifest with what differs between two runs of the same command made the same everywhere. */
    static List<String> runIndependent(JsonNode manifest) {
        ObjectNode m = manifest.deepCopy();
        String runId = m.get("run_id").asText();
        String outputUri = m.at("/outputs/path").asText();
        for (String field : List.of("run_id", "started_at", "finished_at", "spark", "timings_ms", "chunks_per_second")) {
            m.replace(field, TextNode.valueOf("(varies)"));
        }
        ((ObjectNode) m.get("tool")).put("version", "(varies)"); // "dev" in tests, the jar's version from the script
        ((ObjectNode) m.at("/config/spark")).put("master", "(varies)");
        ((ObjectNode) m.at("/config/input")).put("paths", "(varies)");
        ((ObjectNode) m.at("/config/output")).put("path", "(varies)");
        ((ObjectNode) m.get("outputs")).put("path", "(varies)");
        // File layout, not content: since issue #13 part 2 the tasks that embed write the tables (one file per
        // partition) instead of a second job re-splitting them, so how many files a table has may differ.
        // ExactlyOnceTest and ObjectStoreIT check that the files a manifest lists are its tables' files.
        ((ObjectNode) m.get("outputs")).put("embedding_files", "(layout)");
        if (m.has("files")) {
            m.get("files").fieldNames().forEachRemaining(table -> ((ObjectNode) m.get("files")).put(table, "(layout)"));
        }
        for (JsonNode input : m.get("inputs")) {
            String path = input.get("path").asText();
            ((ObjectNode) input).put("path", path.substring(path.lastIndexOf('/') + 1));
        }
        return ManifestJsonTest.fieldsInOrder(m).stream()
                .map(line -> line.replace(runId, "RUNID").replace(outputUri, "OUTPUT")
                        .replaceAll("part-(\\d+)-[0-9a-f-]{36}-c000", "part-$1-UUID-c000"))
                .toList();
    }

    private static void assertSameAsTheReleaseBefore(String fixture, Path output) throws IOException {
        JsonNode before = TREE.readTree(ManifestJsonTest.fixture(fixture));
        JsonNode after = TREE.readTree(output.resolve("manifest.json").toFile());
        assertThat(runIndependent(after)).as(fixture).containsExactlyElementsOf(runIndependent(before));
    }

    @Test
    void aParquetRunWritesTheManifestTheReleaseBeforeWrote() throws IOException {
        assertSameAsTheReleaseBefore("parquet-rename.json", parquet);
    }

    @Test
    void anObjectStoreCommitWritesTheManifestTheReleaseBeforeWrote() throws IOException {
        Path output = dir.resolve("object-store");
        assertEquals(0, embed(output, "output.commit=manifest"));
        assertSameAsTheReleaseBefore("parquet-object-store.json", output);
    }

    @Test
    void aDeltaRunWritesTheManifestTheReleaseBeforeWrote() throws IOException {
        assumeTrue(DeltaSettings.SPARK_VERSION.equals(DeltaOutputTest.sparkVersion()),
                "Delta Lake runs on Spark " + DeltaSettings.SPARK_VERSION + " only (the Parquet tests cover the manifest)");
        Path output = dir.resolve("delta");
        assertEquals(0, embed(output, "output.format=delta"));
        assertSameAsTheReleaseBefore("delta.json", output);
    }

    @Test
    void aTableWhoseManifestAnEarlierReleaseWroteOpensInSearchAndExport() throws IOException {
        for (String fixture : List.of("parquet-rename.json", "release-2026-11-26.json")) {
            Path table = dir.resolve("opened-" + fixture);
            copyTables(parquet, table);
            Files.writeString(table.resolve("manifest.json"), ManifestJsonTest.fixture(fixture));

            EmbeddingTable t = EmbeddingTable.open(table.toString(), new Configuration());
            assertEquals("local-onnx", t.provider(), fixture);
            assertEquals(384, t.dimensions());
            assertEquals("sentence-transformers/all-MiniLM-L6-v2", t.tokenizer());
            assertThat(t.normalized()).isTrue();
            assertEquals(VectorRecipe.MEAN_NORMALIZED, t.recipe(), fixture + ": mean pooling, L2, no prompts");
            assertEquals(358, t.rows());

            assertEquals(0, EmbedpipeMain.execute("search", "--table", table.toString(), "--query", "how many apples", "-k", "3"),
                    fixture + ": search embeds the query with the recorded model and recipe");
            assertEquals(0, EmbedpipeMain.execute("export", "--table", table.toString(), "--to", table.resolve("export").toString()),
                    fixture);
            assertThat(table.resolve("export").resolve("manifest.json")).exists();
        }
    }

    @Test
    void aRedriveOfATableTheReleaseBeforeLayoutWroteKeepsEveryFieldAndNotesItself() throws IOException {
        Path table = dir.resolve("redriven");
        copyTables(parquet, table);
        String old = ManifestJsonTest.fixture("release-2026-11-26.json");
        Files.writeString(table.resolve("manifest.json"), old);

        assertEquals(0, EmbedpipeMain.execute("redrive", "--table", table.toString(), "--master", "local[2]"),
                "nothing failed, so nothing is still failing");

        ObjectNode after = (ObjectNode) TREE.readTree(table.resolve("manifest.json").toFile());
        JsonNode redrives = after.remove("redrives");
        assertThat(redrives).hasSize(1);
        assertThat(redrives.get(0).get("run_id").asText()).endsWith("-redrive");
        assertEquals(0, redrives.get(0).get("retried").asLong());
        assertEquals(0, redrives.get(0).get("still_failing").asLong());
        assertEquals(Manifest.LAYOUT, after.remove("layout").asText(), "the folder is today's layout now");
        ObjectNode expected = (ObjectNode) TREE.readTree(old);
        ((ObjectNode) expected.get("outputs")).put("format", "parquet");
        assertEquals(expected, after, "every other field as the earlier release wrote it");
        assertEquals(358, EmbeddingTable.open(table.toString(), new Configuration()).rows());
    }

    private static void copyTables(Path from, Path to) throws IOException {
        try (var paths = Files.walk(from)) {
            for (Path p : (Iterable<Path>) paths::iterator) {
                Path target = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                } else if (!p.getFileName().toString().equals("manifest.json")) {
                    Files.copy(p, target, StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
    }
}
