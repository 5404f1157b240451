package dev.embedpipe.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.embedpipe.cli.EmbedpipeMain;
import dev.embedpipe.testing.ScriptedEmbeddingServer;

import java.io.BufferedWriter;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Item 6: memory stays flat as the input grows. For each size, JSONL made by repeating the WordNet glosses (ids
 * suffixed per copy) goes through the whole job in local mode, in its own JVM with a 1 GB heap, against the instant
 * embedder (base64, 384 dimensions). From the GC log: the most heap in use before a collection (G1 lets it grow
 * towards -Xmx before collecting, so this says little) and the most left live after one (what the job holds:
 * the figure that must stay flat); peak RSS is the kernel's high-water mark (VmHWM) of that JVM. Sizes in GB from BENCH_MEMORY_GB (default
 * 0.2,1,2).
 */
public final class MemoryBenchmark {
    private static final Pattern HEAP_BEFORE = Pattern.compile("\\) (\\d+)M->(\\d+)M\\(");

    public static void main(String[] args) throws Exception {
        boolean quick = BenchRows.quick(args);
        String sizes = quick ? "0.01" : System.getenv().getOrDefault("BENCH_MEMORY_GB", "0.2,1,2");
        Path work = BenchRows.dir().resolve("memory");
        BenchRows.deleteTree(work);
        Files.createDirectories(work);
        Path corpus = BenchCorpus.wordnetGlosses();
        List<String> lines = Files.readAllLines(corpus);
        List<BenchRow> rows = new ArrayList<>();
        List<long[]> peaks = new ArrayList<>();
        try (ScriptedEmbeddingServer server = ScriptedEmbeddingServer.start(4).setDimensions(384)) {
            for (String size : sizes.split(",")) {
                double gb = Double.parseDouble(size.trim());
                Path input = work.resolve("input-" + size.trim() + "GB.jsonl");
                long bytes = repeat(lines, (long) (gb * 1e9), input);
                long t0 = System.nanoTime();
                long[] peak = runJob(server, input, work.resolve("out-" + size.trim()), work.resolve("gc-" + size.trim() + ".log"));
                double seconds = (System.nanoTime() - t0) / 1e9;
                Files.delete(input);
                peaks.add(peak);
                rows.add(BenchRow.info(6, String.format("Peak live heap after GC, %.2f GB of JSONL (-Xmx1g, local[2])", bytes / 1e9),
                        peak[2], "MiB", String.format("peak RSS %,d MiB; heap in use before a GC up to %,d MiB; %.0f s wall; "
                                + "input %,d bytes", peak[1], peak[0], seconds, bytes)));
                BenchRows.deleteTree(work.resolve("out-" + size.trim()));
            }
        }
        long smallest = peaks.get(0)[2];
        long largest = peaks.stream().mapToLong(p -> p[2]).max().orElse(0);
        double growth = (double) largest / Math.max(1, smallest);
        rows.add(new BenchRow(6, "Peak live heap, largest over smallest input (" + sizes + " GB)", growth, "x", null, null, growth,
                "flat: <= 1.5x", growth <= 1.5, "a partition is streamed, never collected; the heap follows batch and "
                + "shuffle buffers, not the input size"));
        BenchRows.write(MemoryBenchmark.class.getSimpleName(), rows, quick);
    }

    /** Writes copies of {@code lines} with ids suffixed per copy until {@code target} bytes; returns the bytes. */
    static long repeat(List<String> lines, long target, Path out) throws IOException {
        long written = 0;
        try (BufferedWriter w = Files.newBufferedWriter(out, StandardCharsets.UTF_8)) {
            for (int copy = 0; written < target; copy++) {
                for (String line : lines) {
                    ObjectNode node = (ObjectNode) BenchRows.JSON.readTree(line);
                    node.put("id", node.get("id").asText() + "#" + copy);
                    String json = BenchRows.JSON.writeValueAsString(node);
                    w.write(json);
                    w.write('\n');
                    written += json.getBytes(StandardCharsets.UTF_8).length + 1;
                    if (written >= target) {
                        break;
                    }
                }
            }
        }
        return written;
    }

    /** Runs the job in its own 1 GB JVM; returns {peak heap in use MiB, peak RSS MiB, peak live heap after GC MiB}. */
    private static long[] runJob(ScriptedEmbeddingServer server, Path input, Path output, Path gcLog) throws Exception {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx1g", "-Xlog:gc:file=" + gcLog));
        for (String arg : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (arg.startsWith("--add-") || arg.startsWith("-XX:+IgnoreUnrecognized") || arg.startsWith("-Dai.djl")
                    || arg.startsWith("-Dlog4j2") || arg.startsWith("-Dembedpipe.home") || arg.startsWith("-Dio.netty")) {
                command.add(arg);
            }
        }
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), EmbedpipeMain.class.getName(),
                "embed", "--input", input.toString(), "--output", output.toString(), "--master", "local[2]",
                "--set", "embedder.provider=openai", "--set", "embedder.base_url=" + server.baseUrl(),
                "--set", "embedder.model=text-embedding-3-small", "--set", "embedder.dimensions=384",
                "--set", "embedder.encoding_format=base64", "--set", "embedder.api_key_env=PATH",
                "--set", "clean.min_chars=0", "--set", "cache.enabled=false"));
        Path log = output.resolveSibling(output.getFileName() + ".log");
        Process job = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        Path status = Path.of("/proc", Long.toString(job.pid()), "status");
        long rssKb = 0;
        while (!job.waitFor(500, TimeUnit.MILLISECONDS)) {
            try {
                for (String line : Files.readAllLines(status)) {
                    if (line.startsWith("VmHWM:")) {
                        rssKb = Math.max(rssKb, Long.parseLong(line.replaceAll("\\D", "")));
                    }
                }
            } catch (IOException gone) {
                // the process ended between the wait and the read
            }
        }
        if (job.exitValue() != 0) {
            throw new IllegalStateException("the job failed (exit " + job.exitValue() + "), see " + log);
        }
        long heapMb = 0;
        long liveMb = 0;
        for (String line : Files.readAllLines(gcLog)) {
            Matcher m = HEAP_BEFORE.matcher(line);
            if (m.find()) {
                heapMb = Math.max(heapMb, Long.parseLong(m.group(1)));
                liveMb = Math.max(liveMb, Long.parseLong(m.group(2)));
            }
        }
        return new long[] {heapMb, rssKb / 1024, liveMb};
    }
}
