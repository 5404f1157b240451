package dev.embedpipe.bench;

import dev.embedpipe.config.EmbedpipeConfig;
import dev.embedpipe.testing.ScriptedEmbeddingServer;

import java.time.Duration;
import java.util.List;
import java.util.Map;

/** Item 3, second half: the rate after a burst of 429s, measured at the server (see RemoteThroughputBenchmark). */
public final class RateRecoveryBenchmark {
    /**
     * After a burst of 429s (Retry-After: 2), how long until the rate is back to 0.9 of the request budget: the
     * first moment after the last 429 from which the next 5 seconds hold 0.9 of the budget's requests.
     */
    public static void main(String[] args) throws Exception {
        boolean quick = BenchRows.quick(args);
        int latencyMs = 100;
        int burst = 20;
        try (ScriptedEmbeddingServer server = ScriptedEmbeddingServer.start(64)) {
            server.latency(Duration.ofMillis(latencyMs));
            EmbedpipeConfig config = RemoteThroughputBenchmark.config(server, 10, RemoteThroughputBenchmark.inFlight(latencyMs));
            RemoteThroughputBenchmark.runTasks(config, () -> {
                Thread.sleep(quick ? 5_000 : 30_000); // steady state first
                server.enqueue(burst, ScriptedEmbeddingServer.Behaviour.status(429, "rate limited", Map.of("Retry-After", "2")));
                Thread.sleep(quick ? 15_000 : 40_000);
            });
            List<ScriptedEmbeddingServer.Recorded> requests = server.requests();
            long last429 = requests.stream().filter(r -> r.status() == 429).mapToLong(ScriptedEmbeddingServer.Recorded::nanoTime)
                    .max().orElseThrow();
            List<Long> ok = requests.stream().filter(r -> r.status() == 200 && r.nanoTime() > last429)
                    .map(ScriptedEmbeddingServer.Recorded::nanoTime).sorted().toList();
            long window = 5_000_000_000L;
            double needed = 0.9 * RemoteThroughputBenchmark.RPM / 60.0 * 5;
            double recoveredAfter = -1; // not within the run
            for (int i = 0; i < ok.size(); i++) {
                long from = ok.get(i);
                long inWindow = ok.stream().filter(t -> t >= from && t < from + window).count();
                if (inWindow >= needed) {
                    recoveredAfter = (from - last429) / 1e9;
                    break;
                }
            }
            BenchRows.write(RateRecoveryBenchmark.class.getSimpleName(), List.of(new BenchRow(3, String.format("Recovery after a burst of %d 429s (Retry-After: 2), %d ms latency", burst, latencyMs),
                    recoveredAfter, "s to 0.9 of the budget", 10.0, "s", recoveredAfter / 10.0, "<= 10 s",
                    recoveredAfter >= 0 && recoveredAfter <= 10.0, String.format("requests budget %d/min over 2 tasks; time from the last 429 to the start of "
                    + "the first 5 s holding >= 0.9 of the budget's requests", RemoteThroughputBenchmark.RPM))), quick);
        }
    }
}
