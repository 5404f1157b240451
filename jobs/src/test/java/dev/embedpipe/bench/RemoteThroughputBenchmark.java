package dev.embedpipe.bench;

import dev.embedpipe.chunk.Chunk;
import dev.embedpipe.config.ConfigLoader;
import dev.embedpipe.config.EmbedpipeConfig;
import dev.embedpipe.embed.EmbedStage;
import dev.embedpipe.embed.Embedder;
import dev.embedpipe.embed.EmbedderRegistry;
import dev.embedpipe.testing.ScriptedEmbeddingServer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Remote throughput against the budget (not a test: a runner that prints and records figures). Two tasks share a
 * budget of 600 requests/min and 1,000,000 tokens/min against a loopback server with injected latency; the rate
 * is measured where it counts, at the server, over real 60-second windows. Also: requests needed for 10,000
 * chunks versus one request per chunk.
 *
 * <p>Run: {@code jobs/bin/bench-remote [seconds-per-scenario] [latencies-ms]} (defaults 150 and 100,1000). Writes
 * target/bench/remote.md, and rows for items 3 and 4 of jobs/bin/bench's table; {@code --quick} (jobs/bin/bench
 * --quick) runs only the packing count.
 */
public final class RemoteThroughputBenchmark {
    private static final int TOKENS_PER_CHUNK = 100;
    static final long RPM = 600;
    private static final long TPM = 1_000_000;
    private static final List<BenchRow> ROWS = new ArrayList<>();

    public static void main(String[] args) throws Exception {
        boolean quick = BenchRows.quick(args);
        int seconds = quick ? 0 : args.length > 0 ? Integer.parseInt(args[0]) : 150;
        int[] latencies = args.length > 1 ? java.util.Arrays.stream(args[1].split(",")).mapToInt(Integer::parseInt).toArray()
                : new int[] {100, 1000};
        StringBuilder md = new StringBuilder();
        md.append("# Remote throughput versus budget\n\n")
                .append("Run ").append(Instant.now()).append(" on ").append(Runtime.getRuntime().availableProcessors())
                .append(" cores, Java ").append(System.getProperty("java.version")).append(". Budget ").append(RPM)
                .append(" requests/min and ").append(TPM).append(" tokens/min shared by 2 tasks, requests in flight per task sized to the latency (see the table), ")
                .append(TOKENS_PER_CHUNK).append(" tokens per chunk, ").append(seconds).append(" s per scenario.\n\n")
                .append("| scenario | server latency | in flight per task | binding budget | steady rate (last 60 s) | ratio | max any 60 s window | over-budget windows |\n")
                .append("|---|---|---|---|---|---|---|---|\n");
        for (int latencyMs : seconds > 0 ? latencies : new int[0]) {
            md.append(scenario("requests bind (10 inputs/request)", latencyMs, 10, seconds, true));
            md.append(scenario("tokens bind (requests packed to the token burst)", latencyMs, 2048, seconds, false));
        }
        md.append("\n").append(packing());
        Path out = Path.of("target", "bench");
        Files.createDirectories(out);
        Files.writeString(out.resolve("remote.md"), md);
        System.out.println(md);
        BenchRows.write(RemoteThroughputBenchmark.class.getSimpleName(), ROWS, quick);
    }

    /** Enough requests in flight per task that latency does not cap the rate below the budget. */
    static int inFlight(int latencyMs) {
        return Math.max(4, (int) Math.ceil(1.5 * RPM / 60.0 * latencyMs / 1000.0 / 2));
    }

    static EmbedpipeConfig config(ScriptedEmbeddingServer server, int maxInputs, int inFlight) {
        Map<String, Object> values = new HashMap<>(Map.of("embedder.provider", "openai", "embedder.base_url", server.baseUrl(),
                "embedder.model", "bench-" + server.port() + "-" + maxInputs, "limits.requests_per_minute", RPM,
                "limits.tokens_per_minute", TPM, "limits.max_in_flight", inFlight, "limits.max_inputs_per_request", maxInputs,
                "limits.request_timeout_s", 30));
        return ConfigLoader.defaultsWith(values);
    }

    private static String scenario(String name, int latencyMs, int maxInputs, int seconds, boolean requestsBind) throws Exception {
        try (ScriptedEmbeddingServer server = ScriptedEmbeddingServer.start(64)) {
            server.latency(Duration.ofMillis(latencyMs));
            EmbedpipeConfig config = config(server, maxInputs, inFlight(latencyMs));
            runTasks(config, () -> Thread.sleep(seconds * 1000L));
            List<ScriptedEmbeddingServer.Recorded> requests = server.requests();
            long window = 60_000_000_000L;
            long last = requests.get(requests.size() - 1).nanoTime();
            long maxInWindow = 0;
            long overWindows = 0;
            long budget = requestsBind ? RPM : TPM;
            for (int i = 0; i < requests.size(); i++) {
                long start = requests.get(i).nanoTime();
                if (start + window > last) {
                    break; // only whole windows
                }
                long amount = 0;
                for (int j = i; j < requests.size() && requests.get(j).nanoTime() < start + window; j++) {
                    amount += requestsBind ? 1 : (long) requests.get(j).inputCount() * TOKENS_PER_CHUNK;
                }
                maxInWindow = Math.max(maxInWindow, amount);
                overWindows += amount > budget ? 1 : 0;
            }
            long steady = 0;
            for (ScriptedEmbeddingServer.Recorded r : requests) {
                if (r.nanoTime() > last - window) {
                    steady += requestsBind ? 1 : (long) r.inputCount() * TOKENS_PER_CHUNK;
                }
            }
            String unit = requestsBind ? "requests/min" : "tokens/min";
            double ratio = (double) steady / budget;
            ROWS.add(new BenchRow(3, String.format("Remote steady rate, %s, %d ms latency", name, latencyMs), steady, unit,
                    (double) budget, unit + " (budget)", ratio, ">= 0.95 of the budget, 0 over-budget 60 s windows",
                    ratio >= 0.95 && overWindows == 0, String.format("last 60 s of %d s, 2 tasks x %d in flight; max any 60 s "
                    + "window %,d; %d over-budget windows", seconds, inFlight(latencyMs), maxInWindow, overWindows)));
            return String.format("| %s | %d ms | %d | %,d %s | %,d | %.3f | %,d | %d |%n", name, latencyMs, inFlight(latencyMs), budget, unit, steady,
                    (double) steady / budget, maxInWindow, overWindows);
        }
    }

    /** Requests for 10,000 chunks with the default limits, against one request per chunk (SynapseML's way). */
    private static String packing() throws Exception {
        try (ScriptedEmbeddingServer server = ScriptedEmbeddingServer.start()) {
            Map<String, Object> values = Map.of("embedder.provider", "openai", "embedder.base_url", server.baseUrl(),
                    "embedder.model", "pack-" + server.port(), "limits.tokens_per_minute", TPM);
            EmbedpipeConfig config = ConfigLoader.defaultsWith(values);
            Embedder embedder = EmbedderRegistry.get("openai").embedder(config);
            List<Chunk> chunks = new ArrayList<>();
            for (int i = 0; i < 10_000; i++) {
                chunks.add(new Chunk("c" + i, "d" + i, 0, "chunk " + i, TOKENS_PER_CHUNK, 0, 1, "h", "f", "{}", null));
            }
            try (Embedder.Session session = embedder.openSession(config, 1);
                 EmbedStage stage = new EmbedStage(chunks.iterator(), session, embedder.shape(config, 1))) {
                stage.forEachRemaining(e -> { });
            }
            ROWS.add(new BenchRow(4, "Requests for 10,000 chunks of " + TOKENS_PER_CHUNK + " tokens", server.requestCount(),
                    "requests", 10_000.0, "requests (one per chunk)", server.requestCount() / 10_000.0, null, null,
                    String.format("default limits (2,048 inputs, 300,000 tokens a request), a %,d tokens/min budget on one task", TPM)));
            return String.format("Requests for 10,000 chunks of %d tokens (default limits, %,d tokens/min budget on one task): "
                    + "%,d, against 10,000 with one request per chunk (%.0fx fewer).%n", TOKENS_PER_CHUNK, TPM,
                    server.requestCount(), 10_000.0 / server.requestCount());
        }
    }

    /** What happens at the server while the two tasks send. */
    interface Meanwhile {
        void run() throws InterruptedException;
    }

    /** Two tasks sending endless chunks through the openai embedder until {@code meanwhile} returns. */
    static void runTasks(EmbedpipeConfig config, Meanwhile meanwhile) throws InterruptedException {
        Embedder embedder = EmbedderRegistry.get("openai").embedder(config);
        AtomicBoolean stop = new AtomicBoolean();
        List<Thread> tasks = new ArrayList<>();
        for (int t = 0; t < 2; t++) {
            int task = t;
            Thread thread = new Thread(() -> {
                try (Embedder.Session session = embedder.openSession(config, 2);
                     EmbedStage stage = new EmbedStage(endless(task, stop), session, embedder.shape(config, 2))) {
                    stage.forEachRemaining(e -> { });
                }
            });
            thread.start();
            tasks.add(thread);
        }
        try {
            meanwhile.run();
        } finally {
            stop.set(true);
            for (Thread t : tasks) {
                t.join();
            }
        }
    }

    static java.util.Iterator<Chunk> endless(int task, AtomicBoolean stop) {
        return new java.util.Iterator<>() {
            private long n;

            @Override
            public boolean hasNext() {
                return !stop.get();
            }

            @Override
            public Chunk next() {
                n++;
                return new Chunk("t" + task + "-" + n, "d", 0, "task " + task + " chunk " + n, TOKENS_PER_CHUNK, 0, 1, "h", "f", "{}", null);
            }
        };
    }
}
