package dev.embedpipe.job;

import dev.embedpipe.testing.DriverProcess;
import dev.embedpipe.testing.LocalFiles;
import dev.embedpipe.testing.ScriptedEmbeddingServer;
import dev.embedpipe.write.RunLease;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Two real driver processes on one output: the second refuses at once (exit 1, one line) while the first holds the
 * run lease, and the first commits as if alone.
 */
class ConcurrentRunsTest {
    @TempDir
    Path dir;

    private static List<String> args(ScriptedEmbeddingServer server, Path out) {
        return List.of("embed", "--input", LocalFiles.projectHome().resolve("datasets-sample/gsm8k_test_head200.jsonl").toString(),
                "--output", out.toString(), "--master", "local[2]",
                "--set", "embedder.provider=openai", "--set", "embedder.base_url=" + server.baseUrl(),
                "--set", "embedder.model=text-embedding-3-small", "--set", "embedder.dimensions=8",
                "--set", "limits.max_inputs_per_request=4", "--set", "limits.max_in_flight=1");
    }

    @Test
    void theSecondOfTwoConcurrentRunsRefusesAtOnceAndTheFirstCommits() throws Exception {
        try (ScriptedEmbeddingServer server = ScriptedEmbeddingServer.start()) {
            server.latency(Duration.ofMillis(100)); // the first run embeds for several seconds
            Path out = dir.resolve("out");
            Map<String, String> env = Map.of("OPT_OUT_TRACKING", "true");
            Process first = DriverProcess.start(dir.resolve("first.log"), args(server, out), Map.of(), env);
            try {
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
                while (server.requestCount() < 3 && first.isAlive() && System.nanoTime() < deadline) {
                    Thread.sleep(20);
                }
                assertThat(server.requestCount()).as("the first run is embedding").isGreaterThanOrEqualTo(3);
                assertThat(out.resolve(RunLease.FILE)).as("and holds the lease").exists();

                Path secondLog = dir.resolve("second.log");
                Process second = DriverProcess.start(secondLog, args(server, out), Map.of(), env);
                assertThat(second.waitFor(60, TimeUnit.SECONDS)).as("the second run ends by itself").isTrue();
                assertThat(first.isAlive()).as("the second run refused while the first still runs").isTrue();
                assertEquals(1, second.exitValue());
                List<String> lines = Files.readAllLines(secondLog);
                System.out.println("second run: " + lines);
                assertThat(lines.stream().filter(l -> l.startsWith("embedpipe: ")).toList()).singleElement().asString()
                        .startsWith("embedpipe: another run is writing " + out + ": run ")
                        .contains("(embed, host " + RunLease.thisHost() + ", pid " + first.pid() + ", heartbeat ");
                assertThat(lines).noneMatch(l -> l.startsWith("\tat ") || l.contains("Exception"));

                assertThat(first.waitFor(180, TimeUnit.SECONDS)).isTrue();
                assertEquals(0, first.exitValue(), () -> "first run log: " + readOrEmpty(dir.resolve("first.log")));
            } finally {
                first.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
            }
            assertThat(out.resolve("manifest.json")).exists();
            assertThat(out.resolve(RunLease.FILE)).as("released at the end").doesNotExist();
        }
    }

    private static String readOrEmpty(Path p) {
        try {
            return Files.readString(p);
        } catch (java.io.IOException e) {
            return "";
        }
    }
}
