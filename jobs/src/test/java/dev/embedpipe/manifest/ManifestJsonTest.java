package dev.embedpipe.manifest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The one reader and writer: manifests written by earlier releases (src/test/resources/manifests/, see its README)
 * open with every field, are written back field for field in the same order, and a manifest with every optional
 * part survives a round trip.
 */
class ManifestJsonTest {
    private static final ObjectMapper TREE = new ObjectMapper();

    static String fixture(String name) throws IOException {
        try (InputStream in = ManifestJsonTest.class.getResourceAsStream("/manifests/" + name)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    /** Every field's JSON pointer with its value, in document order: equal lists mean same fields, values and order. */
    static List<String> fieldsInOrder(JsonNode node) {
        List<String> out = new ArrayList<>();
        walk("", node, out);
        return out;
    }

    private static void walk(String at, JsonNode node, List<String> out) {
        if (node.isObject()) {
            for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                walk(at + "/" + e.getKey(), e.getValue(), out);
            }
        } else if (node.isArray()) {
            for (int i = 0; i < node.size(); i++) {
                walk(at + "/" + i, node.get(i), out);
            }
            if (node.isEmpty()) {
                out.add(at + " = []");
            }
        } else {
            out.add(at + " = " + node);
        }
    }

    @Test
    void todaysManifestsAreWrittenBackFieldForFieldInTheSameOrderAndPrintedTheSameWay() throws IOException {
        for (String name : List.of("parquet-rename.json", "parquet-object-store.json", "delta.json")) {
            String original = fixture(name);
            String rewritten = ManifestJson.write(ManifestJson.read(original));
            assertThat(fieldsInOrder(TREE.readTree(rewritten))).as(name).containsExactlyElementsOf(fieldsInOrder(TREE.readTree(original)));
            assertThat(rewritten.strip()).as(name + ", byte for byte").isEqualTo(original.strip());
        }
    }

    @Test
    void aParquetTableOfTodaysReleaseReadsEveryField() throws IOException {
        Manifest m = ManifestJson.read(fixture("parquet-rename.json"));
        assertThat(m.isEmbedpipe()).isTrue();
        assertEquals(new Manifest.Tool("embedpipe", "0.1.0-SNAPSHOT"), m.tool());
        assertEquals(Manifest.LAYOUT, m.layout());
        assertEquals("embed", m.command());
        assertEquals("20261201T181949Z-30f8f6", m.runId());
        assertEquals("succeeded", m.status());
        assertEquals("2026-12-01T18:19:49.924346697Z", m.startedAt());
        assertEquals("2026-12-01T18:20:01.871973518Z", m.finishedAt());
        assertEquals("local-onnx", m.config().at("/embedder/provider").asText());
        assertThat(m.config().at("/quality/max_reject_ratio").isNull()).isTrue();

        Manifest.Model model = m.model();
        assertEquals(new Manifest.Model("local-onnx", "sentence-transformers/all-MiniLM-L6-v2", 384, 256,
                "yes (mean pooling, L2)", "mean", true, "", "",
                "759c3cd2b7fe7e93933ad23c4c9181b7396442a2ed746ec7c1d46192c469c46e",
                new Manifest.Tokenizer("sentence-transformers/all-MiniLM-L6-v2",
                        "da0e79933b9ed51798a3ae27893d3c5fa4a201126cef75586296df9b4d2c62a0")), model);
        assertThat(model.unitLength()).isTrue();

        assertThat(m.inputs()).hasSize(2);
        Manifest.Input gsm = m.inputs().get(0);
        assertEquals("file:/work/wt-manifest/datasets-sample/gsm8k_test_head200.jsonl", gsm.path());
        assertEquals(116976, gsm.bytes());
        assertThat(gsm.gzip()).isFalse();
        assertEquals(new Manifest.Counts(200, 200, 0, 0, 5, 195, 195, 195, 0, 0, 11530, true), gsm.counts());
        assertThat(m.inputs().get(1).gzip()).isTrue();
        assertEquals(new Manifest.Counts(789, 789, 0, 0, 431, 358, 358, 358, 0, 0, 16889, true), m.totals());
        assertEquals(new Manifest.Quality(0.0, 0.0, List.of()), m.quality());
        assertEquals(new Manifest.Outputs("file:/tmp/mf/parquet", "rename", "parquet", "embeddings/", "rejects/",
                "errors/", 1, 358), m.outputs());
        assertThat(m.delta()).isNull();
        assertEquals(new Manifest.Spark("local[*]", "local-1796149189525", 2), m.spark());
        assertEquals(new Manifest.Requests(0, 0, 0, 0, 0, 0, 0, 0.0, new Manifest.Latency(0, 0, 0), 0.0,
                "successful task attempts only", new Manifest.TokensBilled(0, 0)), m.requests());
        assertThat(m.batch()).isNull();
        assertEquals(2001, m.timingsMs().read());
        assertEquals(6630, m.timingsMs().chunkEmbedWrite());
        assertEquals(11946, m.timingsMs().total());
        assertThat(m.timingsMs().stages()).containsExactly(Map.entry("read", 2012L), Map.entry("rejects", 2205L),
                Map.entry("chunk_and_cache_lookup", 1056L), Map.entry("embed", 4612L), Map.entry("write_tables", 961L),
                Map.entry("count", 1068L));
        assertEquals(54.0, m.chunksPerSecond());
        assertThat(m.files()).isNull();
        assertThat(m.redrives()).isNull();
    }

    @Test
    void anObjectStoreCommitListsItsFilesAndADeltaTableItsVersion() throws IOException {
        Manifest objectStore = ManifestJson.read(fixture("parquet-object-store.json"));
        assertEquals("manifest", objectStore.outputs().commit());
        assertEquals("runs/20261201T182006Z-7a8398/embeddings/", objectStore.outputs().table("embeddings"));
        assertEquals("runs/20261201T182006Z-7a8398/errors/", objectStore.outputs().table("errors"));
        assertThat(objectStore.outputs().table("dedupe")).isNull();
        assertThat(objectStore.files()).containsOnlyKeys("embeddings", "rejects", "errors");
        assertThat(objectStore.files().get("embeddings")).containsExactly(
                "runs/20261201T182006Z-7a8398/embeddings/part-00000-70f257bd-c0ad-4d89-9a51-27e4c9b59192-c000.zstd.parquet");

        Manifest delta = ManifestJson.read(fixture("delta.json"));
        assertEquals("delta", delta.outputs().format());
        Map<String, Long> metrics = new LinkedHashMap<>();
        metrics.put("numOutputRows", 358L);
        metrics.put("numTargetRowsInserted", 358L);
        assertEquals(new Manifest.Delta("embeddings/", 0, -1, "WRITE (create)", "upsert", false,
                "embedpipe:file:/tmp/mf/delta/embeddings", 0, true, new LinkedHashMap<>(metrics)), delta.delta());
    }

    @Test
    void aManifestOfTheReleaseBeforeLayoutAndRecipeFieldsOpensWithTheirDefaults() throws IOException {
        String old = fixture("release-2026-11-26.json");
        Manifest m = ManifestJson.read(old);
        assertThat(m.isEmbedpipe()).as("recognised by outputs.commit").isTrue();
        assertThat(m.layout()).isNull();
        assertThat(m.model().pooling()).isNull();
        assertThat(m.model().normalize()).isNull();
        assertThat(m.model().documentPrompt()).isNull();
        assertThat(m.model().unitLength()).isTrue();
        assertEquals("parquet", m.outputs().format(), "Parquet: the only format before output.format");
        assertThat(m.requests().tokensBilled()).isNull();
        assertEquals(358, m.totals().embedded());

        JsonNode rewritten = TREE.readTree(ManifestJson.write(m));
        ObjectNode expected = (ObjectNode) TREE.readTree(old);
        ((ObjectNode) expected.get("outputs")).put("format", "parquet");
        assertEquals(expected, rewritten, "written back as it was, with the format it was read with");
        assertThat(rewritten.at("/model").has("pooling")).as("no recipe invented").isFalse();
    }

    @Test
    void aManifestWithEveryOptionalPartSurvivesARoundTripUnderTodaysFieldNames() throws IOException {
        LinkedHashMap<String, Long> stages = new LinkedHashMap<>();
        stages.put("read", 5L);
        stages.put("embed", 7L);
        LinkedHashMap<String, Long> metrics = new LinkedHashMap<>();
        metrics.put("numTargetRowsInserted", 3L);
        metrics.put("numTargetRowsDeleted", 1L);
        Manifest m = new Manifest(new Manifest.Tool("embedpipe", "9"), Manifest.LAYOUT, "embed", "r1", "batch_pending",
                "a", "b", TREE.readTree("{\"embedder\": {\"provider\": \"openai\", \"dimensions\": null}}"),
                new Manifest.Model("openai", "m", 8, 8191, "as returned by the provider", null, null, null, null, null,
                        new Manifest.Tokenizer("cl100k_base", "ab")),
                List.of(new Manifest.Input("file:/in.jsonl", 10, false, new Manifest.Counts(3, 2, 1, 0, 0, 2, 4, 1, 1, 2, 40, true))),
                new Manifest.Counts(3, 2, 1, 0, 0, 2, 4, 1, 1, 2, 40, true), new Manifest.Quality(0.25, 0.5, List.of("quality.x: 1 > 0")),
                new Manifest.Outputs("file:/out", "manifest", "delta", "embeddings/", "runs/r1/rejects/", "runs/r1/errors/", 2, 2),
                new Manifest.Delta("embeddings/", 4, 3, "MERGE", "mirror", true, "embedpipe:x", 4, true, metrics),
                new Manifest.Spark("local[2]", "app-1", 2),
                new Manifest.Requests(5, 1, 1, 0, 0, 9, 90, 1.25, new Manifest.Latency(1.5, 2.5, 3.5), 0.001,
                        "successful task attempts only", new Manifest.TokensBilled(90, 30)),
                new Manifest.Batch(1, 1, 2, 3, 30, 0, 0, 1, 0, 30, 0.01, 2),
                new Manifest.Timings(1, 2, 3, stages), 12.5, Map.of("embeddings", List.of("runs/r1/embeddings/p.parquet")),
                List.of(new Manifest.Redrive("r2", "c", 2, 1, 0, 1, 1, 10, 0.0001)));
        String json = ManifestJson.write(m);
        assertEquals(m, ManifestJson.read(json));
        JsonNode tree = TREE.readTree(json);
        for (String pointer : List.of("/run_id", "/started_at", "/finished_at", "/model/max_input_tokens",
                "/quality/reject_ratio", "/outputs/embedding_files", "/delta/previous_version", "/delta/mirror_deletes",
                "/delta/txn_app_id", "/delta/txn_version", "/delta/metrics/numTargetRowsDeleted", "/spark/application_id",
                "/requests/throttled_429", "/requests/server_errors", "/requests/transport_errors", "/requests/inputs_sent",
                "/requests/tokens_sent", "/requests/seconds_throttled", "/requests/latency_ms/p99",
                "/requests/estimated_cost_usd", "/requests/tokens_billed/batch", "/batch/files_uploaded",
                "/batch/batches_requeued", "/batch/usd_per_million_tokens", "/batch/pending_chunks",
                "/timings_ms/chunk_embed_write", "/timings_ms/stages/embed", "/chunks_per_second", "/files/embeddings/0",
                "/redrives/0/still_failing", "/redrives/0/estimated_cost_usd")) {
            assertThat(tree.at(pointer).isMissingNode()).as(pointer).isFalse();
        }
        assertThat(tree.at("/config/embedder/dimensions").isNull()).as("the config's nulls are kept").isTrue();
        assertThat(tree.at("/model").has("sha256")).as("absent parts are left out, not written as null").isFalse();
    }

    @Test
    void unknownFieldsAreIgnoredAndANonManifestIsRefusedWithAnIoException() throws IOException {
        Manifest m = ManifestJson.read("{\"tool\": {\"name\": \"embedpipe\", \"future\": 1}, \"layout\": \"" + Manifest.LAYOUT
                + "\", \"something_new\": {\"a\": [1]}}");
        assertThat(m.isEmbedpipe()).isTrue();
        assertThatThrownBy(() -> ManifestJson.read("{\"tool\": \"embedpipe\"}")).isInstanceOf(IOException.class);
        assertThatThrownBy(() -> ManifestJson.read("not json")).isInstanceOf(IOException.class);
    }

    @Test
    void aRedriveMovesCountsFromErroredAndAppendsItself() {
        Manifest.Counts before = new Manifest.Counts(10, 10, 0, 0, 0, 10, 10, 4, 1, 5, 100, true);
        Manifest.Counts after = before.withRedriven(3, 1, 1);
        assertEquals(new Manifest.Counts(10, 10, 0, 0, 0, 10, 10, 7, 2, 1, 100, true), after);
        assertThat(new Manifest.Counts(10, 10, 0, 0, 0, 10, 10, 4, 1, 5, 100, false).withRedriven(3, 1, 1).reconciled())
                .as("an unreconciled count stays unreconciled").isFalse();
    }
}
