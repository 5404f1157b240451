package dev.embedpipe.use;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.embedpipe.config.ConfigException;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.util.BitSet;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.Set;

/**
 * {@code embedpipe dedupe}: the pairs of chunks whose cosine is at least a threshold, written to
 * {@code DIR/pairs.csv} ({@code chunk_id_a, doc_id_a, chunk_id_b, doc_id_b, cosine}) as they are found, with a
 * {@code DIR/summary.json}. Exact ({@link PairScan}) up to {@link #EXACT_MAX_ROWS} rows under {@code auto}, LSH
 * ({@link LshPairs}) beyond, whose recall against the exact scan is measured on a sample of rows.
 */
public final class Dedupe {
    public static final long EXACT_MAX_ROWS = 100_000;
    public static final List<String> COLUMNS = List.of("chunk_id", "doc_id", ParquetVectorReader.EMBEDDING);

    public enum Method { AUTO, EXACT, LSH }

    /**
     * @param recall        LSH's recall on the sample (pairs with a sampled row found / such pairs the exact scan
     *                      finds), or null when not measured or the sample had no pairs
     * @param recallPairs   pairs the exact scan found for the sampled rows
     */
    public record Result(String method, long rows, int dims, long pairs, double seconds, String parameters,
                         double expectedRecall, int recallSample, long recallPairs, Double recall, String report) {}

    private Dedupe() {}

    public static Result run(EmbeddingTable table, float threshold, Method method, int threads, int recallSample,
                             String to) {
        if (!(threshold > -1 && threshold <= 1)) {
            throw new ConfigException("--threshold: a cosine in (-1, 1], got " + threshold);
        }
        long rows = table.rows();
        long bytes = Math.max(rows, 0) * table.dimensions() * 4L;
        if (bytes > Runtime.getRuntime().maxMemory() * 0.6) {
            throw new ConfigException(String.format(Locale.ROOT, "--table %s: %,d vectors need %,d MiB in memory, over 60%% "
                    + "of the driver's heap (raise EMBEDPIPE_DRIVER_MEMORY)", table.output(), rows, bytes >> 20));
        }
        VectorBlock all = ParquetVectorReader.readAll(table.files(), table.conf(), COLUMNS, rows);
        if (!table.normalized()) {
            all.normalizeRows();
        }
        boolean exact = method == Method.EXACT || (method == Method.AUTO && all.size() <= EXACT_MAX_ROWS);
        LshPairs lsh = exact ? null : LshPairs.forThreshold(threshold, 42);
        Path dir = new Path(to);
        try {
            FileSystem fs = dir.getFileSystem(table.conf());
            fs.mkdirs(dir);
            Path csv = new Path(dir, "pairs.csv");
            long started = System.nanoTime();
            long pairs;
            BitSet sampled = exact ? new BitSet() : sample(all.size(), recallSample);
            Set<Long> sampledFound = new HashSet<>();
            try (Writer out = new BufferedWriter(new OutputStreamWriter(fs.create(csv, true), StandardCharsets.UTF_8), 1 << 16)) {
                out.write("chunk_id_a,doc_id_a,chunk_id_b,doc_id_b,cosine\n");
                PairSink sink = (i, j, c) -> {
                    try {
                        out.write(csv(all.chunkId(i)) + ',' + csv(all.strings("doc_id")[i]) + ',' + csv(all.chunkId(j)) + ','
                                + csv(all.strings("doc_id")[j]) + ',' + c + '\n');
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                    if (sampled.get(i) || sampled.get(j)) {
                        sampledFound.add(key(i, j));
                    }
                };
                pairs = exact ? PairScan.exact(all, threshold, threads, sink) : lsh.scan(all, threshold, threads, sink);
            }
            double seconds = (System.nanoTime() - started) / 1e9;
            long recallPairs = 0;
            Double recall = null;
            if (!exact && !sampled.isEmpty()) {
                Set<Long> truth = exactPairsOf(all, sampled, threshold);
                recallPairs = truth.size();
                if (recallPairs > 0) {
                    recall = truth.stream().filter(sampledFound::contains).count() / (double) recallPairs;
                }
            }
            Result result = new Result(exact ? "exact" : "lsh", all.size(), all.dims(), pairs, seconds,
                    exact ? "tiles of " + PairScan.TILE + " rows" : lsh.bits() + " bits x " + lsh.bands() + " bands",
                    exact ? 1.0 : lsh.expectedRecall(threshold), sampled.cardinality(), recallPairs, recall,
                    fs.makeQualified(csv).toString());
            writeSummary(fs, new Path(dir, "summary.json"), table, threshold, result);
            return result;
        } catch (IOException e) {
            throw new UncheckedIOException("writing the dedupe report to " + to + " failed", e);
        }
    }

    private static BitSet sample(int n, int count) {
        BitSet picked = new BitSet(n);
        Random random = new Random(7);
        if (count >= n) {
            picked.set(0, n);
            return picked;
        }
        while (picked.cardinality() < count) {
            picked.set(random.nextInt(n));
        }
        return picked;
    }

    /** The exact pairs (against every row) of the sampled rows: |sample| x n dot products, on all cores. */
    static Set<Long> exactPairsOf(VectorBlock all, BitSet sampled, float threshold) {
        float[] v = all.vectors();
        int d = all.dims();
        return sampled.stream().parallel().boxed().flatMap(s -> java.util.stream.IntStream.range(0, all.size())
                        .filter(j -> j != s && Kernels.dot(v, s * d, v, j * d, d) >= threshold).mapToObj(j -> key(s, j)))
                .collect(java.util.stream.Collectors.toSet());
    }

    static long key(int i, int j) {
        return ((long) Math.min(i, j) << 32) | Math.max(i, j);
    }

    private static String csv(String value) {
        if (value == null) {
            return "";
        }
        if (value.indexOf(',') < 0 && value.indexOf('"') < 0 && value.indexOf('\n') < 0 && value.indexOf('\r') < 0) {
            return value;
        }
        return '"' + value.replace("\"", "\"\"") + '"';
    }

    private static void writeSummary(FileSystem fs, Path path, EmbeddingTable table, float threshold, Result r) throws IOException {
        ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
                .setPropertyNamingStrategy(com.fasterxml.jackson.databind.PropertyNamingStrategies.SNAKE_CASE);
        ObjectNode root = json.createObjectNode();
        root.put("table", table.output());
        root.put("model", table.describeModel());
        root.put("threshold", threshold);
        root.set("result", json.valueToTree(r));
        try (var out = fs.create(path, true)) {
            out.write(json.writeValueAsBytes(root));
        }
    }
}
