package dev.embedpipe.job;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.embedpipe.testing.DriverProcess;
import dev.embedpipe.testing.LocalFiles;
import dev.embedpipe.testing.ParquetTables;
import dev.embedpipe.testing.ScriptedEmbeddingServer;
import dev.embedpipe.testing.ScriptedEmbeddingServer.Behaviour;
import org.apache.parquet.example.data.Group;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Issue 12's remote-call rows, each a whole run in its own JVM (real exit code, real console, real log4j
 * configuration) with the openai provider pointed at a scripted loopback server that misbehaves: a body that stalls
 * after the headers, a 300 MB answer, a 400 whose body echoes the Authorization header. In every run the API key
 * must appear in no file under the output (stored uncompressed so a byte search is meaningful), in no Spark event
 * log and not on the console.
 */
class RemoteCallSafetyTest {
    private static final String SECRET = "sk-safety-test-0123456789abcdef";
    private static final int DOCUMENTS = 20;

    @TempDir
    Path dir;
    private ScriptedEmbeddingServer server;

    @BeforeEach
    void start() {
        server = ScriptedEmbeddingServer.start();
    }

    @AfterEach
    void stop() {
        server.close();
    }

    private record Run(int exit, long wallMs, String console, Path output) {
        List<Group> errors() throws IOException {
            return ParquetTables.rows(output.resolve("errors"));
        }

        JsonNode manifest() throws IOException {
            return new ObjectMapper().readTree(output.resolve("manifest.json").toFile());
        }
    }

    /** The embed command over 20 short documents (one chunk each) in one request, with these extra settings. */
    private Run run(String... sets) throws Exception {
        Path input = dir.resolve("docs.jsonl");
        try (Stream<String> lines = Files.lines(LocalFiles.projectHome().resolve("datasets-sample/gsm8k_test_head200.jsonl"))) {
            Files.write(input, lines.limit(DOCUMENTS).toList());
        }
        Path keyFile = dir.resolve("openai.key");
        Files.writeString(keyFile, SECRET);
        Path output = dir.resolve("out");
        Files.createDirectories(dir.resolve("events"));
        List<String> args = new ArrayList<>(List.of("embed", "--input", input.toString(), "--output", output.toString(),
                "--master", "local[2]", "--set", "clean.min_chars=0", "--set", "output.compression=none",
                "--set", "embedder.provider=openai", "--set", "embedder.base_url=" + server.baseUrl(),
                "--set", "embedder.dimensions=8", "--set", "embedder.api_key_file=" + keyFile,
                "--set", "limits.max_inputs_per_request=" + DOCUMENTS, "--set", "limits.max_retry_wait_s=1",
                "--set", "progress.interval_s=0"));
        for (String set : sets) {
            args.addAll(List.of("--set", set));
        }
        Path console = dir.resolve("console.log");
        long t0 = System.nanoTime();
        Process driver = DriverProcess.start(console, args, Map.of("spark.eventLog.enabled", "true",
                "spark.eventLog.dir", dir.resolve("events").toUri().toString(), "spark.eventLog.compress", "false",
                "embedpipe.log.file", dir.resolve("logs").resolve("driver.log").toString()));
        long peakKb = 0;
        boolean ended = false;
        for (long until = t0 + TimeUnit.SECONDS.toNanos(170); !ended && System.nanoTime() < until; ) {
            peakKb = Math.max(peakKb, peakResidentKb(driver.pid()));
            ended = driver.waitFor(200, TimeUnit.MILLISECONDS);
        }
        long wallMs = (System.nanoTime() - t0) / 1_000_000;
        System.out.printf("  | driver JVM peak resident memory: %d MiB%n", peakKb / 1024); // a figure, not a check
        if (!ended) {
            driver.destroyForcibly().waitFor();
        }
        String text = Files.readString(console);
        assertThat(ended).as("the run ended by itself; console:\n%s", text).isTrue();
        // what a user sees, for the test report
        text.lines().filter(l -> l.startsWith("embedpipe:") || l.contains("errored")).forEach(l -> System.out.println("  | " + l));
        return new Run(driver.exitValue(), wallMs, text, output);
    }

    /** The process's peak resident set (Linux VmHWM), or 0 where /proc does not say. */
    private static long peakResidentKb(long pid) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
                if (line.startsWith("VmHWM:")) {
                    return Long.parseLong(line.replaceAll("\\D", ""));
                }
            }
        } catch (IOException | RuntimeException gone) {
            // ended between two looks, or not Linux
        }
        return 0;
    }

    /** The key in no file under the output, the event log or the driver's log file, and not on the console. */
    private void assertKeyNowhere(Run run) throws IOException {
        assertThat(run.console()).as("console").doesNotContain(SECRET);
        byte[] secret = SECRET.getBytes(StandardCharsets.UTF_8);
        List<Path> files = new ArrayList<>();
        Files.createDirectories(dir.resolve("logs"));
        for (Path root : List.of(run.output(), dir.resolve("events"), dir.resolve("logs"))) {
            try (Stream<Path> walk = Files.walk(root)) {
                walk.filter(Files::isRegularFile).forEach(files::add);
            }
        }
        assertThat(files).as("files under the output").anyMatch(f -> f.getFileName().toString().equals("manifest.json"));
        for (Path f : files) {
            assertThat(indexOf(Files.readAllBytes(f), secret)).as("the key in %s", f).isEqualTo(-1);
        }
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    private void assertAllChunksErroredAs(Run run, String errorClass, int attempts, boolean retriable) throws IOException {
        List<Group> errors = run.errors();
        assertEquals(DOCUMENTS, errors.size(), "every chunk in errors/; console:\n" + run.console());
        for (Group e : errors) {
            assertEquals(errorClass, e.getString("error_class", 0));
            assertEquals(attempts, e.getInteger("attempts", 0));
            assertEquals(retriable, e.getBoolean("retriable", 0));
        }
        JsonNode totals = run.manifest().get("totals");
        assertEquals(DOCUMENTS, totals.get("errored").asLong());
        assertThat(totals.get("reconciled").asBoolean()).isTrue();
        assertThat(ParquetTables.rows(run.output().resolve("embeddings"))).isEmpty();
    }

    /** Requests with different inputs (one per embed task here), each of which may be attempted several times. */
    private long distinctRequests() {
        return server.requests().stream().map(ScriptedEmbeddingServer.Recorded::inputs).distinct().count();
    }

    @Test
    void aBodyThatStallsAfterItsHeadersTimesOutEveryAttemptAndTheRunEnds() throws Exception {
        server.enqueue(10, Behaviour.stallBodyAfterHeaders(Duration.ofMinutes(10)));
        Run run = run("limits.request_timeout_s=5", "limits.max_attempts=3");
        System.out.printf("stalled body: exit %d in %.1f s%n", run.exit(), run.wallMs() / 1000.0);
        assertEquals(0, run.exit(), run.console());
        assertThat(run.wallMs()).as("wall time, ms").isLessThan(60_000);
        assertAllChunksErroredAs(run, "timeout", 3, true);
        assertEquals(3 * distinctRequests(), server.requestCount(), "three attempts of each request");
        assertThat(run.errors().get(0).getString("message", 0)).contains("limits.request_timeout_s (5 s)");
        assertKeyNowhere(run);
    }

    @Test
    void aThreeHundredMegabyteAnswerIsCutOffAtTheCapAsAFailedAttempt() throws Exception {
        server.enqueue(10, Behaviour.hugeBody(300_000_000L));
        Run run = run("limits.max_attempts=3");
        System.out.printf("huge body: exit %d in %.1f s%n", run.exit(), run.wallMs() / 1000.0);
        assertEquals(0, run.exit(), run.console());
        assertAllChunksErroredAs(run, "response_too_large", 3, true);
        assertThat(run.errors().get(0).getString("message", 0)).contains("limits.max_response_bytes (134217728 bytes)");
        assertEquals(3 * distinctRequests(), server.requestCount(), "three attempts of each request");
        assertEquals(server.requestCount(), run.manifest().at("/requests/transport_errors").asLong());
        assertKeyNowhere(run);
    }

    @Test
    void aSmallerCapAppliesAndAnAnswerUnderItIsAccepted() throws Exception {
        // padded to 64 KiB: well under the default cap, over a 16 KiB one
        server.enqueue(Behaviour.hugeBody(64 * 1024));
        server.enqueue(Behaviour.hugeBody(64 * 1024));
        Run run = run("limits.max_response_bytes=16384", "limits.max_attempts=3");
        assertEquals(0, run.exit(), run.console());
        assertThat(run.manifest().at("/totals/embedded").asLong()).as("retried into normal answers").isEqualTo(DOCUMENTS);
        assertEquals(2, run.manifest().at("/requests/retries").asLong(), "one retry for each answer over the cap");
    }

    @Test
    void aBadRequestAnswerEchoingTheAuthorizationHeaderStoresNoKey() throws Exception {
        server.enqueue(10, Behaviour.echoHeaders(400));
        Run run = run("limits.max_inputs_per_request=10"); // two requests, ten chunks each
        assertEquals(0, run.exit(), run.console());
        assertThat(server.requests()).hasSize(2).allSatisfy(r -> assertEquals("Bearer " + SECRET, r.header("authorization")));
        assertAllChunksErroredAs(run, "http_400", 1, false);
        for (Group e : run.errors()) {
            assertThat(e.getString("message", 0)).contains("\"authorization\":\"Bearer [REDACTED]\"").doesNotContain(SECRET);
        }
        assertKeyNowhere(run);
    }
}
