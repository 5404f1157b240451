package dev.embedpipe.job;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.embedpipe.cli.EmbedpipeMain;
import dev.embedpipe.testing.LocalFiles;
import dev.embedpipe.testing.ParquetTables;
import dev.embedpipe.testing.ScriptedEmbeddingServer;
import dev.embedpipe.use.EmbeddingTable;
import dev.embedpipe.write.delta.DeltaSettings;
import org.apache.hadoop.conf.Configuration;
import org.apache.parquet.example.data.Group;
import org.apache.parquet.hadoop.ParquetReader;
import org.apache.parquet.hadoop.example.GroupReadSupport;
import dev.embedpipe.write.delta.DeltaOutput;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * output.format=delta on local disk, with the openai provider against a loopback server that counts what it is sent:
 * a first run, then a run on an edited input (10% of documents with a changed text, 5% with changed metadata, some
 * removed, some added). The table is read independently: the test replays {@code _delta_log/} JSON itself and reads
 * the listed Parquet files with parquet-hadoop's example reader (DuckDB is a node package, reached by .ci/ scripts,
 * not from a JUnit test). The change feed is read with Spark's {@code readChangeFeed}.
 */
public class DeltaOutputTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    @TempDir
    Path dir;
    ScriptedEmbeddingServer server;

    /** Called per test, not in @BeforeAll: surefire reports a class skipped there as "Tests run: 0", not as skipped. */
    public static void deltaRunsHere() throws IOException {
        assumeTrue(DeltaSettings.SPARK_VERSION.equals(sparkVersion()),
                "Delta Lake 4.2.0 runs on Spark " + DeltaSettings.SPARK_VERSION + " only; this build uses Spark " + sparkVersion()
                        + " (the Parquet tests cover it)");
    }

    public static String sparkVersion() throws IOException {
        try (InputStream in = SparkSession.class.getClassLoader().getResourceAsStream("spark-version-info.properties")) {
            Properties p = new Properties();
            p.load(in);
            return p.getProperty("version");
        }
    }

    @BeforeEach
    void start() throws IOException {
        deltaRunsHere(); // before the server starts: a skipped test starts nothing
        server = ScriptedEmbeddingServer.start();
    }

    @AfterEach
    void stop() {
        if (server != null) { // null when the test was skipped
            server.close();
        }
    }

    private int embed(Path output, Path input, String... extra) {
        List<String> args = new ArrayList<>(List.of("embed", "--input", input.toString(), "--output", output.toString(),
                "--master", "local[1]", "--set", "output.format=delta",
                "--set", "embedder.provider=openai", "--set", "embedder.base_url=" + server.baseUrl(),
                "--set", "embedder.model=text-embedding-3-small", "--set", "embedder.dimensions=8",
                "--set", "limits.max_inputs_per_request=16", "--set", "limits.max_in_flight=1",
                "--set", "limits.max_attempts=2", "--set", "limits.max_retry_wait_s=1"));
        args.addAll(List.of(extra));
        return EmbedpipeMain.execute(args.toArray(String[]::new));
    }

    /** The original lines, and the edited input: what changed, by document id. */
    public record Edit(List<String> lines, Set<String> textChanged, Set<String> metadataChanged, Set<String> removed, Set<String> added) {
        public Set<String> changedDocs() {
            Set<String> all = new HashSet<>(textChanged);
            all.addAll(metadataChanged);
            all.addAll(removed);
            all.addAll(added);
            return all;
        }
    }

    /** 10% of documents get a longer text, 5% another answer (metadata), 4% are removed, 10 are added. */
    public static Edit edit(List<String> original) throws IOException {
        List<String> lines = new ArrayList<>();
        Set<String> text = new HashSet<>();
        Set<String> meta = new HashSet<>();
        Set<String> removed = new HashSet<>();
        Set<String> added = new HashSet<>();
        for (int i = 0; i < original.size(); i++) {
            ObjectNode doc = (ObjectNode) JSON.readTree(original.get(i));
            String id = doc.get("id").asText();
            if (i % 25 == 11) {
                removed.add(id);
                continue;
            }
            if (i % 10 == 3) {
                doc.put("text", doc.get("text").asText() + " Answer in whole dollars, please.");
                text.add(id);
            } else if (i % 20 == 7) {
                doc.put("answer", "#### edited");
                meta.add(id);
            }
            lines.add(JSON.writeValueAsString(doc));
            if (i < 10) {
                ObjectNode fresh = doc.deepCopy();
                fresh.put("id", "fresh-" + i);
                fresh.put("text", "A new question: " + doc.get("text").asText());
                added.add("fresh-" + i);
                lines.add(JSON.writeValueAsString(fresh));
            }
        }
        return new Edit(lines, text, meta, removed, added);
    }

    @Test
    void anEditedInputCommitsOnlyItsChangedDocuments() throws IOException {
        List<String> original = Files.readAllLines(LocalFiles.projectHome().resolve("datasets-sample/gsm8k_test_head200.jsonl"));
        Path input = dir.resolve("in/docs.jsonl"); // one path for both runs: source_file stays the same
        Files.createDirectories(input.getParent());
        Files.write(input, original);
        Path out = dir.resolve("out");

        assertEquals(0, embed(out, input, "--set", "output.sync=mirror"));
        assertEquals(0, JSON.readTree(out.resolve("manifest.json").toFile()).at("/delta/version").asLong());
        Map<String, Group> first = replay(out.resolve("embeddings"));
        assertEquals(195, first.size());
        assertThat(Files.exists(out.resolve("rejects"))).isTrue();

        Edit edit = edit(original);
        Files.write(input, edit.lines());
        int before = server.requestCount();
        assertEquals(0, embed(out, input, "--set", "output.sync=mirror"));
        Set<String> sent = new HashSet<>();
        server.requests().subList(before, server.requestCount()).forEach(r -> sent.addAll(r.inputs()));

        JsonNode manifest = JSON.readTree(out.resolve("manifest.json").toFile());
        assertEquals(1, manifest.at("/delta/version").asLong(), "one commit per run");
        assertEquals("MERGE", manifest.at("/delta/operation").asText());
        Map<String, Group> table = replay(out.resolve("embeddings"));

        // the table equals a fresh full run on the edited input
        Path fresh = dir.resolve("fresh");
        assertEquals(0, embed(fresh, input));
        Map<String, Group> full = replay(fresh.resolve("embeddings"));
        assertSameRows(full, table);

        // the last version's change feed holds exactly the changed documents' chunks
        List<Row> changes = changeFeed(out.resolve("embeddings"), 1);
        Set<String> changedDocs = changes.stream().map(r -> r.<String>getAs("doc_id")).collect(Collectors.toSet());
        Set<String> expected = new HashSet<>(edit.changedDocs());
        expected.retainAll(docsOf(first, table)); // filtered documents (too short) have no rows either way
        assertEquals(expected, changedDocs);
        long inserts = count(changes, "insert");
        long deletes = count(changes, "delete");
        long updates = count(changes, "update_postimage");
        JsonNode metrics = manifest.at("/delta/metrics");
        assertEquals(inserts, metrics.get("numTargetRowsInserted").asLong());
        assertEquals(deletes, metrics.get("numTargetRowsDeleted").asLong());
        assertEquals(updates, metrics.get("numTargetRowsUpdated").asLong());
        assertThat(metrics.has("numTargetRowsCopied")).isTrue();
        assertThat(updates).isEqualTo(table.values().stream().filter(g -> edit.metadataChanged().contains(g.getString("doc_id", 0))).count())
                .isPositive();
        assertThat(deletes).isGreaterThanOrEqualTo(edit.removed().size() + edit.textChanged().size() - 1);

        // the requests covered only the changed text: exactly the texts of the inserted chunks
        Set<String> insertedTexts = changes.stream().filter(r -> r.<String>getAs("_change_type").equals("insert"))
                .map(r -> r.<String>getAs("text")).collect(Collectors.toSet());
        assertEquals(insertedTexts, sent);

        // search, export and dedupe read the latest version or --version N, replaying the log without Spark
        assertEquals(first.size(), EmbeddingTable.open(out.toString(), new Configuration(), 0).rows());
        assertEquals(table.size(), EmbeddingTable.open(out.toString(), new Configuration()).rows());
        assertEquals(0, EmbedpipeMain.execute("export", "--table", out.toString(), "--version", "0",
                "--to", dir.resolve("export-v0").toString()));
        assertEquals(0, EmbedpipeMain.execute("search", "--table", out.toString(), "--version", "1", "-k", "3",
                "--query", edit.lines().get(0), "--set", "embedder.base_url=" + server.baseUrl()));
        assertEquals(2, EmbedpipeMain.execute("search", "--table", out.toString(), "--version", "7", "--query", "x"),
                "a version the table does not have exits 2");

        // a rerun on the same input changes nothing and sends nothing
        int beforeRerun = server.requestCount();
        assertEquals(0, embed(out, input, "--set", "output.sync=mirror"));
        assertEquals(beforeRerun, server.requestCount());
        JsonNode rerun = JSON.readTree(out.resolve("manifest.json").toFile()).at("/delta/metrics");
        assertEquals(0, rerun.get("numTargetRowsInserted").asLong() + rerun.get("numTargetRowsDeleted").asLong()
                + rerun.get("numTargetRowsUpdated").asLong());
        assertEquals(table.keySet(), replay(out.resolve("embeddings")).keySet());
    }

    @Test
    void upsertKeepsUnseenDocumentsAndAnotherModelNeedsRebuild() throws IOException {
        List<String> original = Files.readAllLines(LocalFiles.projectHome().resolve("datasets-sample/gsm8k_test_head200.jsonl"));
        Path input = dir.resolve("in/docs.jsonl");
        Files.createDirectories(input.getParent());
        Files.write(input, original.subList(0, 60));
        Path out = dir.resolve("out");
        assertEquals(0, embed(out, input));
        Set<String> firstDocs = docsOf(replay(out.resolve("embeddings")));

        Files.write(input, original.subList(40, 100)); // 0-39 absent: upsert keeps them
        assertEquals(0, embed(out, input));
        Set<String> docs = docsOf(replay(out.resolve("embeddings")));
        assertThat(docs).containsAll(firstDocs);
        assertThat(docs.size()).isGreaterThan(firstDocs.size());

        int before = server.requestCount();
        assertEquals(2, embed(out, input, "--set", "embedder.dimensions=16"), "another dimension count exits 2");
        assertEquals(before, server.requestCount(), "refused before anything was sent");
        assertEquals(1, JSON.readTree(out.resolve("manifest.json").toFile()).at("/delta/version").asLong());

        assertEquals(0, embed(out, input, "--set", "embedder.dimensions=16", "--rebuild"));
        Map<String, Group> rebuilt = replay(out.resolve("embeddings"));
        assertThat(docsOf(rebuilt)).doesNotContainAnyElementsOf(Set.of("gsm8k-test-00000"));
        assertThat(rebuilt.values()).allSatisfy(g -> assertEquals(16, ParquetTables.floats(g, "embedding").length));
        assertEquals(2, JSON.readTree(out.resolve("manifest.json").toFile()).at("/delta/version").asLong());

        assertEquals(2, embed(out, input, "--set", "output.commit=rename"), "output.commit with delta exits 2");
    }

    @Test
    void aRetriedCommitIsSkippedByDeltaNotAppliedTwice() throws IOException {
        List<String> original = Files.readAllLines(LocalFiles.projectHome().resolve("datasets-sample/gsm8k_test_head200.jsonl"));
        Path input = dir.resolve("in/docs.jsonl");
        Files.createDirectories(input.getParent());
        Files.write(input, original.subList(0, 30));
        Path out = dir.resolve("out");
        assertEquals(0, embed(out, input));
        SparkSession spark = deltaSession();
        try {
            // as a run would: open at the current version, then commit; the commit is then retried (same txnVersion)
            DeltaOutput delta = DeltaOutput.open(spark, out.toString(), null, true);
            Dataset<Row> rows = spark.read().format("delta").load(out.resolve("embeddings").toString())
                    .withColumn("metadata", functions.concat(functions.col("metadata"), functions.lit(" ")));
            Dataset<Row> seen = rows.select("doc_id").distinct();
            Dataset<Row> none = seen.limit(0);
            List<Row> staged = rows.collectAsList(); // the retry must see the same source, not the table it changed
            Dataset<Row> source = spark.createDataFrame(staged, rows.schema());
            DeltaOutput.Commit once = delta.commit(source, seen, none, "upsert", false, false);
            assertThat(once.applied()).isTrue();
            assertEquals(1, once.version());
            assertEquals(staged.size(), once.metrics().get("numTargetRowsUpdated").asLong());
            DeltaOutput.Commit retried = delta.commit(source, seen, none, "upsert", false, false);
            assertThat(retried.applied()).as("Delta skips a txnVersion it has seen for the app id").isFalse();
            assertEquals(1, retried.version());
            assertEquals(2, Files.list(out.resolve("embeddings/_delta_log")).filter(p -> p.toString().endsWith(".json")).count());
        } finally {
            spark.stop();
        }
    }

    private static long count(List<Row> changes, String type) {
        return changes.stream().filter(r -> r.<String>getAs("_change_type").equals(type)).count();
    }

    @SafeVarargs
    private static Set<String> docsOf(Map<String, Group>... tables) {
        Set<String> docs = new HashSet<>();
        for (Map<String, Group> t : tables) {
            t.values().forEach(g -> docs.add(g.getString("doc_id", 0)));
        }
        return docs;
    }

    /** The same chunk ids, each with the same columns and vector. */
    public static void assertSameRows(Map<String, Group> expected, Map<String, Group> actual) {
        assertEquals(expected.keySet(), actual.keySet());
        for (String id : expected.keySet()) {
            for (String column : List.of("doc_id", "text", "metadata", "source_file", "content_hash")) {
                assertEquals(expected.get(id).getString(column, 0), actual.get(id).getString(column, 0), column + " of " + id);
            }
            assertThat(ParquetTables.floats(actual.get(id), "embedding")).containsExactly(ParquetTables.floats(expected.get(id), "embedding"));
        }
    }

    /** The rows of the table's latest version by chunk id: its log replayed as JSON here, its files read by parquet-hadoop. */
    public static Map<String, Group> replay(Path table) throws IOException {
        return replay(table, Long.MAX_VALUE);
    }

    /** The rows of {@code version} (its commits 0..version replayed; the tables here have no checkpoint yet). */
    public static Map<String, Group> replay(Path table, long version) throws IOException {
        Set<String> live = new LinkedHashSet<>();
        List<Path> commits;
        try (Stream<Path> log = Files.list(table.resolve("_delta_log"))) {
            commits = log.filter(p -> p.getFileName().toString().matches("\\d{20}\\.json"))
                    .filter(p -> Long.parseLong(p.getFileName().toString().substring(0, 20)) <= version).sorted().toList();
        }
        for (Path commit : commits) {
            for (String line : Files.readAllLines(commit)) {
                JsonNode action = JSON.readTree(line);
                if (action.has("add")) {
                    assertThat(action.get("add").has("deletionVector") && !action.get("add").get("deletionVector").isNull())
                            .as("no deletion vectors").isFalse();
                    live.add(action.get("add").get("path").asText());
                } else if (action.has("remove")) {
                    live.remove(action.get("remove").get("path").asText());
                }
            }
        }
        Map<String, Group> rows = new TreeMap<>();
        for (String file : live) {
            Path path = table.resolve(URI.create(file).getPath());
            try (ParquetReader<Group> reader = ParquetReader.builder(new GroupReadSupport(),
                    new org.apache.hadoop.fs.Path(path.toUri())).withConf(new Configuration()).build()) {
                for (Group g = reader.read(); g != null; g = reader.read()) {
                    assertThat(rows.put(g.getString("chunk_id", 0), g)).as("one row per chunk id").isNull();
                }
            }
        }
        return rows;
    }

    /** A Spark session of the test's own, with Delta. */
    static SparkSession deltaSession() {
        org.apache.spark.SparkConf conf = new org.apache.spark.SparkConf().setMaster("local[1]").setAppName("delta-test")
                .set("spark.ui.enabled", "false");
        DeltaSettings.apply(conf);
        return SparkSession.builder().config(conf).getOrCreate();
    }

    /** The change feed of one version, through Delta. */
    public static List<Row> changeFeed(Path table, long version) {
        SparkSession spark = deltaSession();
        try {
            // the README's SQL: one history row per run, and the changes of a version
            List<Row> history = spark.sql("DESCRIBE HISTORY delta.`" + table + "`").collectAsList();
            assertThat(history.stream().map(r -> r.<Long>getAs("version"))).contains(version);
            return spark.sql("SELECT * FROM table_changes_by_path('" + table + "', " + version + ", " + version + ")").collectAsList();
        } finally {
            spark.stop();
        }
    }
}
