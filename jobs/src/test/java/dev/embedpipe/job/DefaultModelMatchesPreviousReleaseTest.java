package dev.embedpipe.job;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.embedpipe.cli.EmbedpipeMain;
import dev.embedpipe.embed.onnx.TransformersJsFixture;
import dev.embedpipe.testing.LocalFiles;
import dev.embedpipe.testing.ParquetTables;
import org.apache.parquet.example.data.Group;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Issue 14: the default model (all-MiniLM-L6-v2) still gives the vectors, name and model checksum of the release
 * before the model catalog. The previous release's table (previous-release/minilm-582947b, made from commit 582947b
 * by previous-release/make-fixture.sh) and today's run over the same 52 real texts agree row by row.
 */
class DefaultModelMatchesPreviousReleaseTest {
    private static final Path FIXTURE = LocalFiles.projectHome().resolve("jobs/src/test/resources/previous-release");

    @Test
    void todaysDefaultModelGivesThePreviousReleasesVectors(@TempDir Path dir) throws Exception {
        Path output = dir.resolve("today");
        int exit = EmbedpipeMain.execute("embed", "--input", FIXTURE.resolve("input.jsonl").toString(),
                "--output", output.toString(), "--master", "local[2]");
        assertEquals(0, exit);

        Map<String, Group> before = byChunk(ParquetTables.rows(FIXTURE.resolve("minilm-582947b")));
        Map<String, Group> today = byChunk(ParquetTables.rows(output.resolve("embeddings")));
        assertThat(before).as("the previous release's rows").hasSize(52);
        assertEquals(before.keySet(), today.keySet(), "the same chunks");
        double worst = 1;
        for (Map.Entry<String, Group> row : before.entrySet()) {
            Group now = today.get(row.getKey());
            assertEquals(row.getValue().getString("model", 0), now.getString("model", 0));
            assertEquals(row.getValue().getString("text", 0), now.getString("text", 0));
            assertEquals(row.getValue().getInteger("token_count", 0), now.getInteger("token_count", 0));
            double cosine = TransformersJsFixture.cosine(ParquetTables.floats(row.getValue(), "embedding"), ParquetTables.floats(now, "embedding"));
            assertThat(cosine).as("chunk %s", row.getKey()).isGreaterThanOrEqualTo(0.99999);
            worst = Math.min(worst, cosine);
        }
        System.out.printf("default model vs release 582947b: %d chunks, minimum cosine %.8f%n", before.size(), worst);

        ObjectMapper json = new ObjectMapper();
        JsonNode old = json.readTree(FIXTURE.resolve("minilm-582947b/manifest.json").toFile()).get("model");
        JsonNode now = json.readTree(output.resolve("manifest.json").toFile()).get("model");
        for (String field : List.of("provider", "model", "dimensions", "sha256")) {
            assertEquals(old.get(field), now.get(field), "manifest model." + field);
        }
        assertEquals(old.at("/tokenizer/sha256"), now.at("/tokenizer/sha256"), "manifest model.tokenizer.sha256");
    }

    private static Map<String, Group> byChunk(List<Group> rows) {
        Map<String, Group> byId = new HashMap<>();
        rows.forEach(r -> byId.put(r.getString("chunk_id", 0), r));
        return byId;
    }
}
