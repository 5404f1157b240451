package dev.embedpipe.job;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.embedpipe.cli.EmbedpipeMain;
import dev.embedpipe.embed.remote.OpenAiProvider;
import dev.embedpipe.testing.LocalFiles;
import dev.embedpipe.testing.ParquetTables;
import dev.embedpipe.testing.ScriptedEmbeddingServer;
import dev.embedpipe.testing.ScriptedEmbeddingServer.Behaviour;
import dev.embedpipe.tokenize.TextTokenizer;
import dev.embedpipe.tokenize.Tokenizers;
import org.apache.parquet.example.data.Group;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * With the openai provider pointed at a loopback server that counts requests and the tokens it receives: reruns
 * pay only for what is new, the estimate equals what the server receives, a cap stops within what is in flight,
 * and a redrive sends only the chunks that failed.
 */
class NeverPayTwiceTest {
    @TempDir
    Path dir;
    static Path base;
    static Path fresh;
    ScriptedEmbeddingServer server;
    static TextTokenizer cl100k;

    @BeforeAll
    static void inputs() throws IOException {
        Path root = Files.createTempDirectory("never-pay-twice");
        base = root.resolve("base");
        Files.createDirectories(base);
        Files.copy(LocalFiles.projectHome().resolve("datasets-sample/gsm8k_test_head200.jsonl"), base.resolve("a.jsonl"));
        // 10% new documents: 20 more real lines, as a second file beside the first
        fresh = root.resolve("fresh.jsonl");
        List<String> more = new ArrayList<>();
        int n = 0;
        for (String line : Files.readAllLines(LocalFiles.projectHome().resolve("datasets-sample/gsm8k_test_head200.jsonl"))) {
            if (n++ < 20) {
                more.add(line.replace("\"gsm8k-test-", "\"fresh-").replace("\"text\": \"", "\"text\": \"New: "));
            }
        }
        Files.write(fresh, more);
        cl100k = Tokenizers.get(OpenAiProvider.CL100K);
    }

    @BeforeEach
    void start() {
        server = ScriptedEmbeddingServer.start();
    }

    @AfterEach
    void stop() {
        server.close();
    }

    private List<String> args(Path output, String... extra) {
        List<String> args = new ArrayList<>(List.of("--output", output.toString(), "--master", "local[1]",
                "--set", "embedder.provider=openai", "--set", "embedder.base_url=" + server.baseUrl(),
                "--set", "embedder.model=text-embedding-3-small", "--set", "embedder.dimensions=8",
                "--set", "limits.max_inputs_per_request=16", "--set", "limits.max_in_flight=1",
                "--set", "limits.max_attempts=4", "--set", "limits.max_retry_wait_s=1",
                "--set", "cost.usd_per_million_tokens=0.02"));
        args.addAll(List.of(extra));
        return args;
    }

    private int embed(Path output, List<Path> inputs, String... extra) {
        List<String> args = new ArrayList<>(List.of("embed"));
        inputs.forEach(i -> args.addAll(List.of("--input", i.toString())));
        args.addAll(args(output, extra));
        return EmbedpipeMain.execute(args.toArray(String[]::new));
    }

    private long tokensReceived(int fromRequest) {
        return server.requests().subList(fromRequest, server.requestCount()).stream()
                .flatMap(r -> r.inputs().stream()).mapToLong(cl100k::count).sum();
    }

    private static JsonNode manifest(Path output) throws IOException {
        return new ObjectMapper().readTree(output.resolve("manifest.json").toFile());
    }

    private static Map<String, float[]> table(Path output) throws IOException {
        Map<String, float[]> byId = new TreeMap<>();
        for (Group g : ParquetTables.rows(output.resolve("embeddings"))) {
            byId.put(g.getString("chunk_id", 0), ParquetTables.floats(g, "embedding"));
        }
        return byId;
    }

    private String estimate(Path output, List<Path> inputs) {
        List<String> args = new ArrayList<>(List.of("estimate"));
        inputs.forEach(i -> args.addAll(List.of("--input", i.toString())));
        args.addAll(args(output));
        PrintStream old = System.out;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            assertEquals(0, EmbedpipeMain.execute(args.toArray(String[]::new)));
        } finally {
            System.setOut(old);
        }
        return captured.toString(StandardCharsets.UTF_8);
    }

    private static long figure(String estimate, String name) {
        var m = java.util.regex.Pattern.compile(name + " ([\\d,]+)").matcher(estimate);
        assertThat(m.find()).as("%s in %s", name, estimate).isTrue();
        return Long.parseLong(m.group(1).replace(",", ""));
    }

    @Test
    void theEstimateIsExactAndRerunsPayOnlyForWhatIsNew() throws IOException {
        Path out = dir.resolve("out");
        String before = estimate(out, List.of(base));
        assertEquals(0, server.requestCount(), "an estimate calls no API");

        assertEquals(0, embed(out, List.of(base)));
        assertEquals(figure(before, "tokens"), tokensReceived(0), "the estimate's tokens are the tokens the server received");
        assertEquals(figure(before, "requests"), server.requestCount());
        Map<String, float[]> first = table(out);
        assertEquals(195, first.size());

        assertEquals(0, figure(estimate(out, List.of(base)), "to embed"));
        int afterFirst = server.requestCount();
        assertEquals(0, embed(out, List.of(base)));
        assertEquals(afterFirst, server.requestCount(), "a rerun on unchanged input makes zero requests");
        assertEquals(195, manifest(out).at("/totals/cached").asLong());
        Map<String, float[]> again = table(out);
        assertEquals(first.keySet(), again.keySet());
        first.forEach((id, v) -> assertArrayEquals(v, again.get(id)));

        assertEquals(0, embed(out, List.of(base, fresh)));
        Set<String> sent = new HashSet<>();
        server.requests().subList(afterFirst, server.requestCount()).forEach(r -> sent.addAll(r.inputs()));
        assertThat(sent).isNotEmpty().allMatch(text -> text.startsWith("New: "));
        assertEquals(20, sent.size(), "only the 10% new documents are paid for");
        assertEquals(215, table(out).size());

        int beforeOtherModel = server.requestCount();
        assertEquals(0, embed(out, List.of(base), "--set", "embedder.model=text-embedding-3-large"));
        assertThat(server.requestCount() - beforeOtherModel).as("another model misses the cache").isGreaterThan(10);
    }

    @Test
    void aCapStopsWithinWhatIsInFlightAndARerunPaysOnlyTheRest() throws IOException {
        Path out = dir.resolve("capped");
        long total = figure(estimate(out, List.of(base)), "tokens");
        long cap = total / 2;
        assertEquals(3, embed(out, List.of(base), "--max-total-tokens", String.valueOf(cap)), "stopped for the budget: exit 3");
        long spent = tokensReceived(0);
        assertThat(spent).isLessThanOrEqualTo(cap).isGreaterThan(cap - 16 * 300); // within one request of the cap
        JsonNode m = manifest(out);
        assertEquals("budget_exhausted", m.get("status").asText());
        assertThat(m.at("/totals/reconciled").asBoolean()).isTrue();
        List<Group> errors = ParquetTables.rows(out.resolve("errors"));
        assertThat(errors).isNotEmpty().allSatisfy(e -> assertEquals("budget_exhausted", e.getString("error_class", 0)));

        int afterCapped = server.requestCount();
        assertEquals(0, embed(out, List.of(base)));
        assertEquals(total, tokensReceived(0), "both runs together paid exactly the estimate");
        assertEquals(195, table(out).size());
        assertThat(server.requestCount()).isGreaterThan(afterCapped);
    }

    @Test
    void aRedriveSendsOnlyTheFailedChunksAndCommitsThem() throws IOException {
        Path out = dir.resolve("redrive");
        server.enqueue(4, Behaviour.status(503, "overloaded", Map.of())); // the first request fails all its attempts
        assertEquals(0, embed(out, List.of(base)));
        List<Group> errors = ParquetTables.rows(out.resolve("errors"));
        assertEquals(16, errors.size());
        Set<String> failedTexts = new HashSet<>();
        errors.forEach(e -> failedTexts.add(e.getString("text", 0)));
        int before = server.requestCount();

        assertEquals(0, EmbedpipeMain.execute("redrive", "--table", out.toString(), "--master", "local[1]"));
        Set<String> sent = new HashSet<>();
        server.requests().subList(before, server.requestCount()).forEach(r -> sent.addAll(r.inputs()));
        assertEquals(failedTexts, sent, "only the failed chunks were sent again");
        assertEquals(0, ParquetTables.rows(out.resolve("errors")).size());
        Map<String, float[]> table = table(out);
        assertEquals(195, table.size());
        for (Group g : ParquetTables.rows(out.resolve("embeddings"))) {
            assertArrayEquals(ScriptedEmbeddingServer.vectorFor(g.getString("text", 0), 8), ParquetTables.floats(g, "embedding"), 1e-6f);
        }
        JsonNode m = manifest(out);
        assertEquals(0, m.at("/totals/errored").asLong());
        assertThat(m.at("/totals/reconciled").asBoolean()).isTrue();
        assertEquals(16, m.at("/redrives/0/embedded").asLong());
    }
}
