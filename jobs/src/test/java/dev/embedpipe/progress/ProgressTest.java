package dev.embedpipe.progress;

import dev.embedpipe.progress.ProgressCounters.Counter;
import dev.embedpipe.testing.DriverProcess;
import dev.embedpipe.testing.LocalFiles;
import dev.embedpipe.testing.ScriptedEmbeddingServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The driver's progress line: its arithmetic, and that it moves inside one long embedding partition. */
class ProgressTest {
    @TempDir
    Path dir;

    @Test
    void rateAndTimeLeftComeFromThePhaseSoFar() {
        long[] start = new long[ProgressCounters.SIZE];
        start[Counter.EMBEDDED.ordinal()] = 100;
        long[] now = start.clone();
        now[Counter.TO_EMBED.ordinal()] = 1000;
        now[Counter.EMBEDDED.ordinal()] = 350;
        now[Counter.ERRORS.ordinal()] = 50;
        now[Counter.CACHED.ordinal()] = 20;
        now[Counter.REQUESTS.ordinal()] = 12;
        now[Counter.IN_FLIGHT.ordinal()] = 3;
        now[Counter.THROTTLED_NANOS.ordinal()] = 2_500_000_000L;
        ProgressLine line = new ProgressLine("embed", Duration.ofSeconds(75), Duration.ofSeconds(10), now, start, 500);

        assertEquals(30.0, line.rate(), 1e-9); // (350 - 100 + 50) chunks in 10 s
        assertEquals(Duration.ofSeconds(20), line.eta()); // (1000 - 400) left at 30/s
        assertThat(line.format()).contains("progress 1:15 embed", "embedded 350/1,000, cached 20", "30.0 chunks/s",
                "requests 12 (3 in flight)", "throttled 2.5 s", "errors 50", "ETA 0:20");
    }

    @Test
    void noTimeLeftBeforeTheTotalIsKnownOrAnythingMoved() {
        long[] zeros = new long[ProgressCounters.SIZE];
        assertNull(new ProgressLine("read", Duration.ofSeconds(5), Duration.ofSeconds(5), zeros, zeros, -1).eta());
        assertNull(new ProgressLine("chunk", Duration.ofSeconds(5), Duration.ofSeconds(5), zeros, zeros, -1).eta());
        assertNull(new ProgressLine("embed", Duration.ofSeconds(5), Duration.ofSeconds(5), zeros, zeros, 10).eta());
        assertThat(new ProgressLine("read", Duration.ofSeconds(5), Duration.ofSeconds(0), zeros, zeros, -1).format())
                .endsWith("ETA --");
    }

    @Test
    void theLineMovesWhileASinglePartitionIsStillEmbedding() throws Exception {
        // the job in its own JVM with the users' logging configuration, as a console would show it; one task,
        // one request at a time, 250 ms each: about 10 s of embedding in a single partition
        Path log = dir.resolve("driver.log");
        try (ScriptedEmbeddingServer server = ScriptedEmbeddingServer.start().latency(Duration.ofMillis(250))) {
            Process driver = DriverProcess.start(log, List.of("embed", "--input",
                    LocalFiles.projectHome().resolve("datasets-sample/gsm8k_test_head200.jsonl").toString(),
                    "--output", dir.resolve("out").toString(), "--master", "local[1]",
                    "--set", "embedder.provider=openai", "--set", "embedder.base_url=" + server.baseUrl(),
                    "--set", "embedder.model=text-embedding-3-small", "--set", "embedder.dimensions=8",
                    "--set", "embedder.api_key_env=PATH", "--set", "limits.max_in_flight=1",
                    "--set", "limits.max_inputs_per_request=5", "--set", "progress.interval_s=1"),
                    Map.of("log4j2.configurationFile", LocalFiles.projectHome().resolve("conf/log4j2.properties").toString()));
            assertTrue(driver.waitFor(3, TimeUnit.MINUTES), "driver still running");
            assertEquals(0, driver.exitValue(), () -> read(log));
            assertThat(server.requestCount()).isGreaterThanOrEqualTo(35);
        }
        List<String> lines = Files.readAllLines(log).stream().filter(l -> l.contains("embedpipe: progress")).toList();

        Pattern embedded = Pattern.compile(" embed \\|.* embedded ([\\d,]+)/([\\d,]+).*requests ([\\d,]+) \\((\\d+) in flight\\)");
        List<long[]> midway = new ArrayList<>();
        for (String line : lines) {
            Matcher m = embedded.matcher(line);
            if (m.find()) {
                long done = Long.parseLong(m.group(1).replace(",", ""));
                long total = Long.parseLong(m.group(2).replace(",", ""));
                if (done > 0 && done < total) {
                    midway.add(new long[] {done, total, Long.parseLong(m.group(3).replace(",", ""))});
                }
            }
        }
        // partial values reached the driver by heartbeat while the only embedding task was still running
        assertThat(midway).as("progress lines: %s", lines).hasSizeGreaterThanOrEqualTo(3);
        for (int i = 1; i < midway.size(); i++) {
            assertThat(midway.get(i)[0]).isGreaterThanOrEqualTo(midway.get(i - 1)[0]);
        }
        assertThat(midway.get(midway.size() - 1)[0]).isGreaterThan(midway.get(0)[0]);
        assertThat(midway.get(midway.size() - 1)[2]).isGreaterThan(0);
        assertThat(lines).anyMatch(l -> l.contains("ETA ") && !l.endsWith("ETA --"));
    }

    private static String read(Path log) {
        try {
            return Files.readString(log);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
