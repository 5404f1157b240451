package dev.embedpipe.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.embedpipe.job.DeltaOutputTest;
import dev.embedpipe.testing.ScriptedEmbeddingServer;
import dev.embedpipe.write.delta.DeltaSettings;
import org.apache.parquet.example.data.Group;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * {@code --set output.format=delta} on a standalone cluster (a master and two workers on 127.0.0.1), submitted with
 * jobs/bin/spark-submit as conf/spark-submit.json says: the application's libraries and Delta Lake's jars (what
 * {@code --packages io.delta:delta-spark_2.13:4.2.0} would fetch: the build's target/delta-classpath.txt) through
 * --jars, the args file's {@code delta.conf} session settings, and {@code --set output.format=delta}. On gsm8k_test: a
 * first run, then a run on an edited input; the table (its _delta_log replayed by the test, the listed Parquet files
 * read with parquet-hadoop) equals a full run on the edited input, the last version's change feed holds exactly the
 * changed documents' chunks, and the requests sent are exactly the inserted chunks' texts.
 */
class DeltaClusterIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    @TempDir
    static Path dir;

    @Test
    void anEditedInputOnTheClusterCommitsOnlyItsChangedDocuments() throws Exception {
        DeltaOutputTest.deltaRunsHere();
        assumeTrue(Files.isRegularFile(ClusterResumeIT.CORPUS), "needs " + ClusterResumeIT.CORPUS);
        List<String> original = Files.readAllLines(ClusterResumeIT.CORPUS);
        Path input = dir.resolve("in/docs.jsonl"); // one path for every run: source_file stays the same
        Files.createDirectories(input.getParent());
        Files.write(input, original);
        Path out = dir.resolve("out");
        try (StandaloneCluster cluster = StandaloneCluster.start(ClusterResumeIT.HOME, dir.resolve("cluster"), 2);
             ScriptedEmbeddingServer server = ScriptedEmbeddingServer.start()) {
            long t0 = System.nanoTime();
            submit(cluster, server, input, out, "first");
            long firstMs = (System.nanoTime() - t0) / 1_000_000;
            JsonNode first = manifest(out);
            assertEquals(cluster.master(), first.at("/spark/master").asText());
            assertEquals(0, first.at("/delta/version").asLong());
            Map<String, Group> v0 = DeltaOutputTest.replay(out.resolve("embeddings"));
            assertEquals(ClusterResumeIT.CHUNKS, v0.size());
            int firstRequests = server.requestCount();

            DeltaOutputTest.Edit edit = DeltaOutputTest.edit(original);
            Files.write(input, edit.lines());
            int before = server.requestCount();
            t0 = System.nanoTime();
            submit(cluster, server, input, out, "edited");
            long editedMs = (System.nanoTime() - t0) / 1_000_000;
            Set<String> sent = new HashSet<>();
            server.requests().subList(before, server.requestCount()).forEach(r -> sent.addAll(r.inputs()));
            int editedRequests = server.requestCount() - before;
            JsonNode second = manifest(out);
            assertEquals(1, second.at("/delta/version").asLong(), "one commit per run");
            assertEquals("MERGE", second.at("/delta/operation").asText());
            assertThat(second.at("/delta/txn_version").asLong()).isEqualTo(1);
            Map<String, Group> v1 = DeltaOutputTest.replay(out.resolve("embeddings"));

            Path fresh = dir.resolve("fresh");
            before = server.requestCount();
            t0 = System.nanoTime();
            submit(cluster, server, input, fresh, "fresh");
            long freshMs = (System.nanoTime() - t0) / 1_000_000;
            int freshRequests = server.requestCount() - before;
            DeltaOutputTest.assertSameRows(DeltaOutputTest.replay(fresh.resolve("embeddings")), v1);

            List<Row> changes = DeltaOutputTest.changeFeed(out.resolve("embeddings"), 1);
            Set<String> changedDocs = changes.stream().map(r -> r.<String>getAs("doc_id")).collect(Collectors.toSet());
            Set<String> withRows = new HashSet<>();
            Stream.of(v0, v1).forEach(t -> t.values().forEach(g -> withRows.add(g.getString("doc_id", 0))));
            Set<String> expected = new HashSet<>(edit.changedDocs());
            expected.retainAll(withRows); // filtered documents (too short) have no rows either way
            assertEquals(expected, changedDocs);
            Set<String> inserted = changes.stream().filter(r -> r.<String>getAs("_change_type").equals("insert"))
                    .map(r -> r.<String>getAs("text")).collect(Collectors.toSet());
            assertEquals(inserted, sent, "the edited run sends exactly the inserted chunks' texts");

            JsonNode m = second.at("/delta/metrics");
            System.out.printf("delta on the cluster: first run %d rows, %d requests, %d ms; edited run (MERGE) inserted %d, "
                            + "deleted %d, updated %d, copied %d, %d requests, %d ms; full run of the edited input %d rows, "
                            + "%d requests, %d ms%n", v0.size(), firstRequests, firstMs,
                    m.get("numTargetRowsInserted").asLong(), m.get("numTargetRowsDeleted").asLong(),
                    m.get("numTargetRowsUpdated").asLong(), m.get("numTargetRowsCopied").asLong(), editedRequests, editedMs,
                    v1.size(), freshRequests, freshMs);
        }
    }

    /** jobs/bin/spark-submit with conf/spark-submit.json's arguments and its delta block, on the cluster. */
    private static void submit(StandaloneCluster cluster, ScriptedEmbeddingServer server, Path input, Path out, String name)
            throws Exception {
        Path home = ClusterResumeIT.HOME;
        JsonNode args = JSON.readTree(home.resolve("conf/spark-submit.json").toFile());
        List<String> jars = new ArrayList<>();
        try (Stream<Path> lib = Files.list(home.resolve(args.get("jars_dir").asText()))) {
            lib.sorted().forEach(p -> jars.add(p.toString()));
        }
        // --packages io.delta:delta-spark_2.13:4.2.0, resolved by the build instead of by Ivy at submit time
        assertEquals(DeltaSettings.PACKAGE, args.at("/delta/packages").asText());
        jars.addAll(List.of(Files.readString(home.resolve("jobs/target/delta-classpath.txt")).trim().split(":")));
        List<String> command = new ArrayList<>(List.of(home.resolve("jobs/bin/spark-submit").toString(),
                "--master", cluster.master(), "--deploy-mode", "client", "--class", args.get("class").asText(),
                "--jars", String.join(",", jars), "--conf", "spark.driver.host=127.0.0.1"));
        args.get("conf").fields().forEachRemaining(e -> command.addAll(List.of("--conf", e.getKey() + "=" + e.getValue().asText())));
        args.at("/delta/conf").fields().forEachRemaining(e -> command.addAll(List.of("--conf", e.getKey() + "=" + e.getValue().asText())));
        command.add(home.resolve(args.get("application").asText()).toString());
        args.get("application_args").forEach(a -> command.add(a.asText()
                .replace("{input}", input.toString()).replace("{output}", out.toString())));
        command.addAll(List.of("--set", "output.format=delta", "--set", "output.sync=mirror",
                "--set", "embedder.provider=openai", "--set", "embedder.base_url=" + server.baseUrl(),
                "--set", "embedder.model=text-embedding-3-small", "--set", "embedder.dimensions=8",
                "--set", "limits.max_inputs_per_request=16", "--set", "input.partition_bytes=262144"));
        Path log = dir.resolve(name + "-submit.log");
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("EMBEDPIPE_CLUSTER_DIR", dir.resolve("cluster").toString());
        Process submit = pb.start();
        boolean ended = submit.waitFor(5, TimeUnit.MINUTES);
        if (!ended) {
            submit.descendants().forEach(ProcessHandle::destroyForcibly);
            submit.destroyForcibly();
        }
        String text = Files.readString(log, StandardCharsets.ISO_8859_1);
        assertThat(ended).as("spark-submit ended in 5 minutes").isTrue();
        assertEquals(0, submit.exitValue(), () -> "spark-submit failed:\n" + text);
    }

    private static JsonNode manifest(Path out) throws Exception {
        return JSON.readTree(out.resolve("manifest.json").toFile());
    }
}
