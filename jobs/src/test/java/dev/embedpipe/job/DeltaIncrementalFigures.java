package dev.embedpipe.job;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.embedpipe.cli.EmbedpipeMain;
import dev.embedpipe.testing.ScriptedEmbeddingServer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The figures of issue 16, run by hand (not a test, not in jobs/bin/bench): a Delta table of a corpus, then the run on
 * {@link DeltaOutputTest#edit}'s edited input, against a full rewrite (a fresh run on the edited input). The openai
 * provider talks to the loopback ScriptedEmbeddingServer, which counts requests and inputs.
 * Usage: java -cp TEST_CLASSPATH dev.embedpipe.job.DeltaIncrementalFigures CORPUS.jsonl WORK_DIR
 */
public final class DeltaIncrementalFigures {
    private DeltaIncrementalFigures() {}

    public static void main(String[] args) throws Exception {
        Path corpus = Path.of(args[0]);
        Path work = Files.createDirectories(Path.of(args[1]));
        Path input = work.resolve("in/docs.jsonl");
        Files.createDirectories(input.getParent());
        List<String> original = Files.readAllLines(corpus);
        Files.write(input, original);
        DeltaOutputTest.Edit edit = DeltaOutputTest.edit(original);
        try (ScriptedEmbeddingServer server = ScriptedEmbeddingServer.start()) {
            run(server, work.resolve("delta"), input, "first run (delta, full)");
            Files.write(input, edit.lines());
            run(server, work.resolve("delta"), input, "incremental (delta MERGE, edited input)");
            run(server, work.resolve("rewrite"), input, "full rewrite (delta, fresh output, edited input)");
        }
        System.out.printf("edit: %d documents in, %d text changed, %d metadata changed, %d removed, %d added%n",
                original.size(), edit.textChanged().size(), edit.metadataChanged().size(), edit.removed().size(), edit.added().size());
    }

    private static void run(ScriptedEmbeddingServer server, Path out, Path input, String what) throws Exception {
        int requests = server.requestCount();
        long inputs = server.inputCount();
        List<String> args = new ArrayList<>(List.of("embed", "--input", input.toString(), "--output", out.toString(),
                "--master", "local[2]", "--set", "output.format=delta", "--set", "output.sync=mirror",
                "--set", "embedder.provider=openai", "--set", "embedder.base_url=" + server.baseUrl(),
                "--set", "embedder.model=text-embedding-3-small", "--set", "embedder.dimensions=8",
                "--set", "limits.max_inputs_per_request=16", "--set", "limits.max_in_flight=2"));
        long t0 = System.nanoTime();
        int code = EmbedpipeMain.execute(args.toArray(String[]::new));
        double seconds = (System.nanoTime() - t0) / 1e9;
        JsonNode m = new ObjectMapper().readTree(out.resolve("manifest.json").toFile());
        System.out.printf("FIGURES %s: exit %d, wall %.1f s, requests %d, inputs sent %d, delta version %d %s %s%n", what, code,
                seconds, server.requestCount() - requests, server.inputCount() - inputs, m.at("/delta/version").asLong(),
                m.at("/delta/operation").asText(), m.at("/delta/metrics"));
    }
}
