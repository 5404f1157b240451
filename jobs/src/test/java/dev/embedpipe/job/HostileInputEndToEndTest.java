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
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Three inputs that used to end a run or pass as text, through the real job on the local model: an id of
 * {@code 1e2000000000} among good records (was an OutOfMemoryError, exit 52), a 30 MB document with
 * {@code input.max_line_bytes} raised to 64 MiB (was refused by Jackson's 20,000,000-character string limit), and a
 * 20,000-character hex string (was embedded as {@code [CLS] [UNK] [SEP]}).
 */
class HostileInputEndToEndTest {
    static final String SENTENCE = "Unfortunately the international administration understood responsibility differently. ";
    static final int BIG_BYTES = 30_000_000;
    @TempDir
    static Path dir;
    static int exit;
    static JsonNode manifest;
    static List<Group> rejects;
    static List<Group> errors;
    static List<Group> embedded = new ArrayList<>();
    static int bigTextLength;

    @BeforeAll
    static void run() throws IOException {
        Path input = dir.resolve("input");
        Files.createDirectories(input);
        String hexId = "hex";
        Files.writeString(input.resolve("a-mixed.jsonl"),
                "{\"id\":\"good-1\",\"text\":\"" + BadLines.GOOD_TEXT + " one\"}\n"
                        + "{\"id\":1e2000000000,\"text\":\"" + BadLines.GOOD_TEXT + " huge id\"}\n"
                        + "{\"id\":\"good-2\",\"text\":\"" + BadLines.GOOD_TEXT + " two\"}\n"
                        + "{\"id\":\"" + hexId + "\",\"text\":\"" + BadLines.hex(10_000) + "\"}\n"
                        + "{\"id\":\"good-3\",\"text\":\"" + BadLines.GOOD_TEXT + " three, with a checksum "
                        + BadLines.hex(60) + " in it\"}\n");
        StringBuilder big = new StringBuilder(BIG_BYTES + SENTENCE.length());
        while (big.length() < BIG_BYTES) {
            big.append(SENTENCE);
        }
        bigTextLength = big.toString().strip().length(); // what the cleaner keeps
        try (Writer out = Files.newBufferedWriter(input.resolve("b-big.jsonl"), StandardCharsets.UTF_8)) {
            out.write("{\"id\":\"big\",\"text\":\"");
            out.append(big);
            out.write("\"}\n");
        }
        assertThat(Files.size(input.resolve("b-big.jsonl"))).isGreaterThan(30_000_000L).isLessThan(64L << 20);

        Path output = dir.resolve("out");
        exit = EmbedpipeMain.execute("embed", "--input", input.toString(), "--output", output.toString(),
                "--master", "local[2]", "--set", "clean.min_chars=20", "--set", "input.max_line_bytes=67108864");
        manifest = new ObjectMapper().readTree(output.resolve("manifest.json").toFile());
        rejects = ParquetTables.rows(output.resolve("rejects"));
        errors = ParquetTables.rows(output.resolve("errors"));
        for (Group row : ParquetTables.rows(output.resolve("embeddings"))) {
            embedded.add(row);
        }
    }

    @Test
    void theRunSucceedsAndEveryCountReconciles() {
        assertEquals(0, exit);
        assertEquals("succeeded", manifest.get("status").asText());
        JsonNode t = manifest.get("totals");
        assertThat(t.get("reconciled").asBoolean()).isTrue();
        assertEquals(t.get("chunks").asLong(), t.get("embedded").asLong() + t.get("cached").asLong() + t.get("errored").asLong());
        assertEquals(1, t.get("errored").asLong());
        assertEquals(1, t.get("rejected").asLong());
    }

    @Test
    void anIdWhosePlainFormIsTwoBillionDigitsIsOneRejectAndTheOtherRecordsAreEmbedded() {
        Group reject = rejects.get(0);
        assertThat(reject.getString("source_file", 0)).endsWith("a-mixed.jsonl");
        assertEquals(2, reject.getLong("line_number", 0));
        assertEquals("id field 'id' is a number of 2000000001 digits written out, over 64 (write it as a string)",
                reject.getString("reason", 0));
        assertThat(embedded.stream().map(g -> g.getString("doc_id", 0))).contains("good-1", "good-2", "good-3");
    }

    @Test
    void aHexStringIsAnUnknownTokensErrorNotAVectorWhileAFewUnknownWordsAreEmbedded() {
        assertThat(errors).singleElement().satisfies(e -> {
            assertEquals("hex", e.getString("doc_id", 0));
            assertEquals("unknown_tokens", e.getString("error_class", 0));
            assertThat(e.getBoolean("retriable", 0)).isFalse();
            assertThat(e.getString("message", 0)).startsWith("not embedded: 1 of 1 tokens are the tokenizer's unknown token");
        });
        assertThat(embedded.stream().map(g -> g.getString("doc_id", 0))).doesNotContain("hex");
    }

    @Test
    void aThirtyMegabyteDocumentUnderARaisedLineLimitIsEmbeddedWhole() {
        List<Group> big = embedded.stream().filter(g -> g.getString("doc_id", 0).equals("big")).toList();
        assertThat(big.size()).isGreaterThan(1000);
        assertEquals(big.size(), big.stream().mapToInt(g -> g.getInteger("chunk_index", 0)).max().orElse(-1) + 1);
        assertEquals(0, big.stream().mapToInt(g -> g.getInteger("char_start", 0)).min().orElse(-1));
        assertEquals(bigTextLength, big.stream().mapToInt(g -> g.getInteger("char_end", 0)).max().orElse(-1));
        for (JsonNode in : manifest.get("inputs")) {
            if (in.get("path").asText().endsWith("b-big.jsonl")) {
                assertEquals(1, in.at("/counts/chunked").asLong());
                assertEquals(0, in.at("/counts/rejected").asLong());
                assertEquals(big.size(), in.at("/counts/chunks").asLong());
            }
        }
    }
}
