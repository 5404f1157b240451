package dev.embedpipe.job;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.embedpipe.cli.EmbedpipeMain;
import dev.embedpipe.embed.onnx.LocalOnnxProvider;
import dev.embedpipe.testing.LocalFiles;
import dev.embedpipe.testing.ParquetTables;
import dev.embedpipe.tokenize.Tokenizers;
import org.apache.parquet.example.data.Group;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.zip.GZIPInputStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** The README's run over datasets-sample/, in Spark local mode, checked with readers independent of Spark. */
class EmbedJobEndToEndTest {
    @TempDir
    static Path dir;
    static Path output;
    static JsonNode manifest;

    @BeforeAll
    static void runTheSample() throws IOException {
        output = dir.resolve("sample");
        int exit = EmbedpipeMain.execute("embed", "--input", LocalFiles.projectHome().resolve("datasets-sample").toString(),
                "--output", output.toString(), "--master", "local[2]", "--set", "spark.app_name=e2e-sample");
        assertEquals(0, exit);
        manifest = new ObjectMapper().readTree(output.resolve("manifest.json").toFile());
    }

    @Test
    void countsReconcileForEachFileAndInTotalAndMatchTheInput() throws IOException {
        assertEquals("succeeded", manifest.get("status").asText());
        assertThat(manifest.get("inputs")).hasSize(2);
        long lines = 0;
        for (JsonNode input : manifest.get("inputs")) {
            JsonNode c = input.get("counts");
            assertThat(c.get("reconciled").asBoolean()).as(input.get("path").asText()).isTrue();
            long fileLines = countLines(Path.of(java.net.URI.create(input.get("path").asText())));
            assertEquals(fileLines, c.get("lines").asLong(), "lines of " + input.get("path"));
            assertEquals(c.get("lines").asLong(), c.get("documents").asLong() + c.get("rejected").asLong() + c.get("skipped").asLong());
            assertEquals(c.get("documents").asLong(), c.get("filtered").asLong() + c.get("chunked").asLong());
            assertEquals(c.get("chunks").asLong(), c.get("embedded").asLong() + c.get("cached").asLong() + c.get("errored").asLong());
            lines += fileLines;
        }
        JsonNode t = manifest.get("totals");
        assertEquals(lines, t.get("lines").asLong());
        assertEquals(200 + 589, lines);
        assertThat(t.get("filtered").asLong()).as("most WordNet glosses are under 100 characters").isGreaterThan(400);
        assertThat(t.get("chunked").asLong()).isGreaterThan(300);
        assertThat(manifest.at("/model/sha256").asText()).hasSize(64);
        assertThat(manifest.at("/model/tokenizer/sha256").asText()).hasSize(64);
        assertEquals(256, manifest.at("/config/chunk/max_tokens").asInt());
    }

    @Test
    void theTableReadsBackWithTheParquetLibraryAndHoldsUnitVectorsWithinTheTokenLimit() throws Exception {
        Path table = output.resolve("embeddings");
        assertThat(ParquetTables.visibleFiles(table)).as("readers globbing the folder see only Parquet files")
                .allMatch(p -> p.getFileName().toString().endsWith(".zstd.parquet") || p.getFileName().toString().endsWith(".parquet"));
        assertThat(ParquetTables.dataFiles(table)).hasSizeBetween(1, 2);
        List<Group> rows = ParquetTables.rows(table);
        assertEquals(manifest.at("/totals/embedded").asLong(), rows.size());
        assertEquals(manifest.at("/totals/chunks").asLong(), rows.size());

        byte[] json = Tokenizers.readBytes(LocalOnnxProvider.BUNDLED_TOKENIZER);
        Set<String> chunkIds = new HashSet<>();
        long tokens = 0;
        try (HuggingFaceTokenizer independent = HuggingFaceTokenizer.newInstance(new ByteArrayInputStream(json),
                Map.of("truncation", "false", "padding", "false", "modelMaxLength", "100000"))) {
            for (Group row : rows) {
                float[] v = ParquetTables.floats(row, "embedding");
                assertEquals(384, v.length);
                double norm = 0;
                for (float x : v) {
                    norm += x * x;
                }
                assertEquals(1.0, Math.sqrt(norm), 1e-3);
                assertThat(chunkIds.add(row.getString("chunk_id", 0))).as("chunk_id unique").isTrue();
                String text = row.getString("text", 0);
                int count = independent.encode(text, true, false).getIds().length;
                assertEquals(count, row.getInteger("token_count", 0));
                assertThat(count).isLessThanOrEqualTo(256);
                tokens += count;
                assertEquals(64, row.getString("content_hash", 0).length());
                assertEquals("local-onnx", row.getString("provider", 0));
                assertEquals("sentence-transformers/all-MiniLM-L6-v2", row.getString("model", 0));
                assertEquals(384, row.getInteger("dimensions", 0));
                assertThat(row.getString("metadata", 0)).startsWith("{").doesNotContain("\"text\"");
                assertThat(row.getInteger("char_end", 0)).isGreaterThan(row.getInteger("char_start", 0));
            }
        }
        assertEquals(manifest.at("/totals/tokens").asLong(), tokens);
    }

    @Test
    void rejectsTableExistsAndMatchesTheManifest() throws IOException {
        assertEquals(manifest.at("/totals/rejected").asLong(), ParquetTables.rows(output.resolve("rejects")).size());
        assertEquals(0, ParquetTables.rows(output.resolve("errors")).size(), "a local model has no per-chunk errors");
        try (var files = Files.list(output)) {
            assertThat(files.map(p -> p.getFileName().toString()).sorted().toList())
                    .containsExactly("embeddings", "errors", "manifest.json", "rejects");
        }
    }

    @Test
    void aRerunReplacesTheOutputWithTheSameChunkIds() throws IOException {
        Set<String> before = new HashSet<>();
        ParquetTables.rows(output.resolve("embeddings")).forEach(r -> before.add(r.getString("chunk_id", 0)));
        Path again = dir.resolve("again");
        Files.createDirectories(again.resolve("embeddings"));
        Files.writeString(again.resolve("embeddings").resolve("stale.parquet"), "left by an earlier run");
        // An earlier run's output is recognised by its manifest; a folder without one would be refused (exit 2).
        Files.copy(output.resolve("manifest.json"), again.resolve("manifest.json"));
        int exit = EmbedpipeMain.execute("embed", "--input", LocalFiles.projectHome().resolve("datasets-sample").toString(),
                "--output", again.toString(), "--master", "local[2]");
        assertEquals(0, exit);
        Set<String> after = new HashSet<>();
        ParquetTables.rows(again.resolve("embeddings")).forEach(r -> after.add(r.getString("chunk_id", 0)));
        assertEquals(before, after);
        assertThat(ParquetTables.visibleFiles(again.resolve("embeddings"))).noneMatch(p -> p.endsWith("stale.parquet"));
    }

    private static long countLines(Path file) throws IOException {
        try (var in = file.toString().endsWith(".gz") ? new GZIPInputStream(Files.newInputStream(file)) : Files.newInputStream(file);
             BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
            return reader.lines().count();
        }
    }
}
