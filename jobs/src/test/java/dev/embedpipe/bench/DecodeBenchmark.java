package dev.embedpipe.bench;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.embedpipe.embed.remote.BadResponseException;
import dev.embedpipe.embed.remote.OpenAiWireFormat;
import dev.embedpipe.embed.remote.TeiWireFormat;
import dev.embedpipe.embed.remote.WireFormat;
import dev.embedpipe.testing.ScriptedEmbeddingServer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;

import java.util.ArrayList;
import java.util.List;

/**
 * Item 8: decoding and validating one embedding answer of 2048 x 384 floats through the real wire formats, one
 * thread (per core): OpenAI's JSON floats, OpenAI's base64 ({@code encoding_format}), TEI's bare arrays. Vectors
 * are unit-length Gaussian (the test server's), printed as Jackson prints floats (shortest round-trip form, about
 * 10 significant characters, as OpenAI's answers).
 */
@State(Scope.Benchmark)
@Threads(1)
@Fork(value = 1, jvmArgsAppend = {"-Xmx2g"})
public class DecodeBenchmark {
    static final int VECTORS = 2048;
    static final int DIMS = 384;
    /** Where a GPU server's 100,000 vectors/s must be decoded on a few client cores. */
    static final double TARGET_PER_CORE = 25_000;

    private final WireFormat openAi = new OpenAiWireFormat();
    private final WireFormat tei = new TeiWireFormat();
    private byte[] openAiFloats;
    private byte[] openAiBase64;
    private byte[] teiFloats;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        openAiFloats = openAiAnswer(false);
        openAiBase64 = openAiAnswer(true);
        ArrayNode bare = WireFormat.JSON.createArrayNode();
        for (int i = 0; i < VECTORS; i++) {
            ArrayNode values = bare.addArray();
            for (float x : ScriptedEmbeddingServer.vectorFor("text " + i, DIMS)) {
                values.add(x);
            }
        }
        teiFloats = WireFormat.JSON.writeValueAsBytes(bare);
    }

    static byte[] openAiAnswer(boolean base64) throws Exception {
        ObjectNode root = WireFormat.JSON.createObjectNode();
        root.put("object", "list");
        ArrayNode data = root.putArray("data");
        for (int i = 0; i < VECTORS; i++) {
            float[] v = ScriptedEmbeddingServer.vectorFor("text " + i, DIMS);
            ObjectNode item = data.addObject();
            item.put("object", "embedding");
            item.put("index", i);
            if (base64) {
                item.put("embedding", ScriptedEmbeddingServer.base64(v));
            } else {
                ArrayNode values = item.putArray("embedding");
                for (float x : v) {
                    values.add(x);
                }
            }
        }
        root.put("model", "text-embedding-3-small");
        root.putObject("usage").put("prompt_tokens", VECTORS * 100).put("total_tokens", VECTORS * 100);
        return WireFormat.JSON.writeValueAsBytes(root);
    }

    @Benchmark
    public float[][] openAiFloat() throws BadResponseException {
        return openAi.parse(openAiFloats, VECTORS, DIMS);
    }

    @Benchmark
    public float[][] openAiBase64() throws BadResponseException {
        return openAi.parse(openAiBase64, VECTORS, DIMS);
    }

    @Benchmark
    public float[][] teiFloat() throws BadResponseException {
        return tei.parse(teiFloats, VECTORS, DIMS);
    }

    public static List<BenchRow> rows(JmhResults results) throws Exception {
        List<BenchRow> rows = new ArrayList<>();
        add(rows, results, "openAiBase64", "OpenAI base64", openAiAnswer(true).length, true);
        add(rows, results, "openAiFloat", "OpenAI JSON floats", openAiAnswer(false).length, false);
        add(rows, results, "teiFloat", "TEI JSON floats", -1, false);
        return rows;
    }

    private static void add(List<BenchRow> rows, JmhResults results, String method, String label, int bytes,
                            boolean hasTarget) {
        Double ops = results.median(DecodeBenchmark.class, method);
        if (ops == null) {
            return;
        }
        String name = "Decode + validate " + label + " answers of " + VECTORS + " x " + DIMS + ": vectors/s per core";
        String note = (bytes > 0 ? String.format("%,d-byte answer; ", bytes) : "")
                + "through WireFormat.parse (index alignment, dimensions, finite values)";
        double vectorsPerSecond = ops * VECTORS;
        rows.add(hasTarget ? BenchRow.atLeast(8, name, vectorsPerSecond, "vectors/s", TARGET_PER_CORE, note)
                : BenchRow.info(8, name, vectorsPerSecond, "vectors/s", note + String.format(
                        "; %.2f of the base64 target (no target for JSON)", vectorsPerSecond / TARGET_PER_CORE)));
    }
}
