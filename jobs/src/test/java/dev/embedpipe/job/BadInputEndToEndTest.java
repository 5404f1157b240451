package dev.embedpipe.job;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.embedpipe.cli.EmbedpipeMain;
import dev.embedpipe.testing.BadLines;
import dev.embedpipe.testing.ParquetTables;
import org.apache.parquet.example.data.Group;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Bad lines, duplicate ids across files, and a file read in several splits, through the real job: every line is
 * accounted for, and rejects carry the file's real line numbers and byte offsets.
 */
class BadInputEndToEndTest {
    @TempDir
    static Path dir;
    static JsonNode manifest;
    static Map<String, Group> rejectsByPlace = new TreeMap<>();
    static Map<Long, Long> splitFileBadLines = new TreeMap<>(); // line number -> byte offset
    static java.util.Set<String> embeddedDocs = new java.util.HashSet<>();

    private static byte[] gzip(byte[] data) throws IOException {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        try (java.util.zip.GZIPOutputStream gz = new java.util.zip.GZIPOutputStream(out)) {
            gz.write(data);
        }
        return out.toByteArray();
    }

    @BeforeAll
    static void run() throws IOException {
        Path input = dir.resolve("input");
        Files.createDirectories(input);
        Files.write(input.resolve("a-bad.jsonl"), BadLines.bytes());
        Files.write(input.resolve("ab-bad-copy.jsonl.gz"), gzip(BadLines.bytes("copy-")));
        StringBuilder gzLines = new StringBuilder();
        for (int i = 0; i < 3000; i++) {
            gzLines.append("{\"id\":\"t").append(i).append("\",\"text\":\"tiny ").append(i).append("\"}\n");
        }
        byte[] whole = gzip(gzLines.toString().getBytes(StandardCharsets.UTF_8));
        Files.write(input.resolve("e-truncated.jsonl.gz"), java.util.Arrays.copyOf(whole, whole.length / 2));
        Files.writeString(input.resolve("d-oversize.jsonl"), "{\"id\":\"o1\",\"text\":\"" + BadLines.GOOD_TEXT + " o1\"}\n"
                + "{\"id\":\"huge\",\"text\":\"" + "x".repeat(100_000) + "\"}\n"
                + "{\"id\":\"o2\",\"text\":\"" + BadLines.GOOD_TEXT + " o2\"}\n");
        Files.writeString(input.resolve("b-dups.jsonl"),
                "{\"id\":\"a\",\"text\":\"" + BadLines.GOOD_TEXT + " again\"}\n"
                        + "{\"id\":\"fresh\",\"text\":\"" + BadLines.GOOD_TEXT + " fresh\"}\n"
                        + "{\"id\":\"fresh\",\"text\":\"" + BadLines.GOOD_TEXT + " fresh twice\"}\n");
        // > 2 MiB so that input.split_bytes=1MiB reads it in three splits; short texts are filtered (min_chars)
        StringBuilder big = new StringBuilder();
        long offset = 0;
        long line = 0;
        while (offset < (5L << 19)) {
            line++;
            String text = line % 1000 == 0 ? "{broken json " + line : "{\"id\":\"s" + line + "\",\"text\":\"short " + line + "\"}";
            if (line % 1000 == 0) {
                splitFileBadLines.put(line, offset);
            }
            big.append(text).append('\n');
            offset += text.getBytes(StandardCharsets.UTF_8).length + 1;
        }
        Files.writeString(input.resolve("c-split.jsonl"), big);

        Path output = dir.resolve("out");
        int exit = EmbedpipeMain.execute("embed", "--input", input.toString(), "--output", output.toString(),
                "--master", "local[2]", "--set", "clean.min_chars=40", "--set", "input.split_bytes=1048576",
                "--set", "input.max_line_bytes=65536", "--set", "quality.max_reject_ratio=0.0001");
        assertEquals(3, exit, "a completed run over its reject threshold exits 3");
        manifest = new ObjectMapper().readTree(output.resolve("manifest.json").toFile());
        ParquetTables.rows(output.resolve("embeddings")).forEach(g -> embeddedDocs.add(g.getString("doc_id", 0)));
        for (Group g : ParquetTables.rows(output.resolve("rejects"))) {
            String file = g.getString("source_file", 0);
            rejectsByPlace.put(file.substring(file.lastIndexOf('/') + 1) + ":" + g.getLong("line_number", 0), g);
        }
    }

    @Test
    void everyBadLineIsARejectWithItsLineNumberOffsetAndReasonAndEveryGoodDocumentIsEmbedded() {
        checkBadLines("a-bad.jsonl", "", false);
    }

    @Test
    void theSameHoldsForAGzipCopyWhoseNumericAndDerivedIdsRepeatTheFirstFile() {
        checkBadLines("ab-bad-copy.jsonl.gz", "copy-", true);
    }

    private static void checkBadLines(String name, String idPrefix, boolean repeatsFirstFile) {
        Map<Integer, String> expected = BadLines.expected();
        byte[] bytes = BadLines.bytes(idPrefix);
        List<Long> lineStarts = new ArrayList<>(List.of(0L));
        for (int i = 0; i < bytes.length; i++) {
            if (bytes[i] == '\n') {
                lineStarts.add(i + 1L);
            }
        }
        int rejects = 0;
        for (Map.Entry<Integer, String> e : expected.entrySet()) {
            Group reject = rejectsByPlace.get(name + ":" + e.getKey());
            String outcome = e.getValue();
            boolean explicitStringId = outcome.startsWith("doc:") && Character.isLetter(outcome.charAt(4)) && !outcome.startsWith("doc:sha256:");
            if (repeatsFirstFile && outcome.startsWith("doc:") && !explicitStringId) {
                outcome = "duplicate id"; // numeric and content-derived ids are the same in both copies
            }
            if (outcome.startsWith("doc:")) {
                assertThat(reject).as("%s line %d is not rejected", name, e.getKey()).isNull();
                if (explicitStringId) {
                    assertThat(embeddedDocs).as("good document on line %d is embedded", e.getKey()).contains(idPrefix + outcome.substring(4));
                }
                continue;
            }
            if (outcome.equals("skip")) {
                assertThat(reject).isNull();
                continue;
            }
            rejects++;
            assertThat(reject).as("%s line %d is rejected", name, e.getKey()).isNotNull();
            assertThat(reject.getString("reason", 0)).contains(outcome);
            assertEquals(lineStarts.get(e.getKey() - 1), reject.getLong("byte_offset", 0));
        }
        JsonNode file = input(name);
        assertEquals(expected.size(), file.at("/counts/lines").asLong());
        assertEquals(rejects, file.at("/counts/rejected").asLong());
        assertEquals(2, file.at("/counts/skipped").asLong());
        assertThat(file.at("/counts/reconciled").asBoolean()).isTrue();
    }

    @Test
    void anOversizeLineAndATruncatedGzipAreOneRejectEach() {
        assertThat(rejectsByPlace.get("d-oversize.jsonl:2").getString("reason", 0))
                .isEqualTo("line of 100023 bytes exceeds input.max_line_bytes (65536)");
        assertThat(embeddedDocs).contains("o1", "o2");
        JsonNode truncated = input("e-truncated.jsonl.gz");
        assertEquals(1, truncated.at("/counts/rejected").asLong());
        assertThat(truncated.at("/counts/lines").asLong()).isBetween(500L, 2999L);
        assertThat(rejectsByPlace.entrySet().stream().filter(e -> e.getKey().startsWith("e-truncated.jsonl.gz:"))
                .map(e -> e.getValue().getString("reason", 0)).toList())
                .singleElement().asString().contains("corrupt or truncated gzip");
    }

    @Test
    void overTheRejectThresholdTheRunStillCommitsItsTableAndManifest() {
        assertEquals("over_threshold", manifest.get("status").asText());
        assertThat(manifest.at("/quality/breaches/0").asText()).startsWith("quality.max_reject_ratio: ");
        assertThat(embeddedDocs).isNotEmpty();
    }

    @Test
    void duplicateIdsKeepTheFirstInInputOrder() {
        Group againA = rejectsByPlace.get("b-dups.jsonl:1");
        assertThat(againA.getString("reason", 0)).startsWith("duplicate id 'a', first seen in ").contains("a-bad.jsonl at byte 0");
        assertThat(rejectsByPlace.get("b-dups.jsonl:3").getString("reason", 0)).startsWith("duplicate id 'fresh'");
        assertThat(rejectsByPlace).doesNotContainKey("b-dups.jsonl:2");
        JsonNode file = input("b-dups.jsonl");
        assertEquals(3, file.at("/counts/lines").asLong());
        assertEquals(2, file.at("/counts/rejected").asLong());
        assertEquals(1, file.at("/counts/chunked").asLong());
    }

    @Test
    void aFileReadInSplitsReportsRealLineNumbersAndReconciles() {
        JsonNode file = input("c-split.jsonl");
        Map<Long, Long> found = new HashMap<>();
        rejectsByPlace.forEach((place, g) -> {
            if (place.startsWith("c-split.jsonl:")) {
                found.put(g.getLong("line_number", 0), g.getLong("byte_offset", 0));
            }
        });
        assertEquals(splitFileBadLines, new TreeMap<>(found));
        assertEquals(splitFileBadLines.size(), file.at("/counts/rejected").asLong());
        assertEquals(file.at("/counts/documents").asLong(), file.at("/counts/filtered").asLong(), "short texts are all filtered");
        assertThat(file.at("/counts/lines").asLong()).isGreaterThan(40_000);
    }

    @Test
    void everythingReconciles() {
        for (JsonNode input : manifest.get("inputs")) {
            assertThat(input.at("/counts/reconciled").asBoolean()).as(input.get("path").asText()).isTrue();
        }
        assertThat(manifest.at("/totals/reconciled").asBoolean()).isTrue();
        long rejectRows = rejectsByPlace.size();
        assertEquals(manifest.at("/totals/rejected").asLong(), rejectRows);
    }

    private static JsonNode input(String name) {
        for (JsonNode input : manifest.get("inputs")) {
            if (input.get("path").asText().endsWith("/" + name)) {
                return input;
            }
        }
        throw new AssertionError("no input " + name);
    }
}
