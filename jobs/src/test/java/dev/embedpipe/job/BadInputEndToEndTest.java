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

    @BeforeAll
    static void run() throws IOException {
        Path input = dir.resolve("input");
        Files.createDirectories(input);
        Files.write(input.resolve("a-bad.jsonl"), BadLines.bytes());
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
                "--master", "local[2]", "--set", "clean.min_chars=40", "--set", "input.split_bytes=1048576");
        assertEquals(0, exit);
        manifest = new ObjectMapper().readTree(output.resolve("manifest.json").toFile());
        for (Group g : ParquetTables.rows(output.resolve("rejects"))) {
            String file = g.getString("source_file", 0);
            rejectsByPlace.put(file.substring(file.lastIndexOf('/') + 1) + ":" + g.getLong("line_number", 0), g);
        }
    }

    @Test
    void everyBadLineIsARejectWithItsLineNumberOffsetAndReason() {
        Map<Integer, String> expected = BadLines.expected();
        byte[] bytes = BadLines.bytes();
        List<Long> lineStarts = new ArrayList<>(List.of(0L));
        for (int i = 0; i < bytes.length; i++) {
            if (bytes[i] == '\n') {
                lineStarts.add(i + 1L);
            }
        }
        int rejects = 0;
        for (Map.Entry<Integer, String> e : expected.entrySet()) {
            Group reject = rejectsByPlace.get("a-bad.jsonl:" + e.getKey());
            if (e.getValue().startsWith("doc:") || e.getValue().equals("skip")) {
                assertThat(reject).as("line %d is not rejected", e.getKey()).isNull();
                continue;
            }
            rejects++;
            assertThat(reject).as("line %d is rejected", e.getKey()).isNotNull();
            assertThat(reject.getString("reason", 0)).contains(e.getValue());
            assertEquals(lineStarts.get(e.getKey() - 1), reject.getLong("byte_offset", 0));
        }
        JsonNode file = input("a-bad.jsonl");
        assertEquals(expected.size(), file.at("/counts/lines").asLong());
        assertEquals(rejects, file.at("/counts/rejected").asLong());
        assertEquals(2, file.at("/counts/skipped").asLong());
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
