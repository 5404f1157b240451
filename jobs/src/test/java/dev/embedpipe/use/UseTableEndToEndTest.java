package dev.embedpipe.use;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.embedpipe.cli.EmbedpipeMain;
import dev.embedpipe.config.ConfigLoader;
import dev.embedpipe.testing.ParquetTables;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.Float4Vector;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.complex.FixedSizeListVector;
import org.apache.arrow.vector.ipc.ArrowFileReader;
import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.hadoop.conf.Configuration;
import org.apache.parquet.example.data.Group;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * search, export and dedupe over tables the real job made (local model, Spark local mode) from documents with
 * planted near-duplicates, in both commit layouts; checked against the Parquet library's own reader.
 */
class UseTableEndToEndTest {
    @TempDir
    static Path dir;
    static Path renamed;
    static Path manifestLayout;
    static final String ORIGINAL = "Volcanoes form where molten rock from the Earth's mantle reaches the surface through "
            + "cracks in the crust. Most of them sit along the boundaries of tectonic plates, around the Pacific Ring of Fire.";
    static final String EDITED = ORIGINAL.replace("Most of them sit", "Most of them lie");
    static final List<String> OTHERS = List.of(
            "Sourdough bread rises thanks to a culture of wild yeast and lactic acid bacteria that the baker feeds with flour and water every day.",
            "The offside rule in football forbids an attacker from being nearer to the opponents' goal line than the second-last defender when the ball is played.",
            "Compound interest means that the interest earned on a deposit is itself added to the balance and earns interest in the following periods.",
            "Photosynthesis in green plants converts light energy, water and carbon dioxide into glucose and oxygen inside the chloroplasts of leaf cells.",
            "A relational database stores data in tables of rows and columns and answers queries written in SQL, using indexes to find rows quickly.",
            "The violin has four strings tuned in fifths and is played with a bow strung with horsehair; it is the smallest member of its family.");

    @BeforeAll
    static void embedTablesWithPlantedDuplicates() throws IOException {
        Path input = dir.resolve("docs.jsonl");
        List<String> lines = new ArrayList<>();
        lines.add(line("volcano", ORIGINAL));
        lines.add(line("volcano-copy", ORIGINAL));
        lines.add(line("volcano-edited", EDITED));
        for (int i = 0; i < OTHERS.size(); i++) {
            lines.add(line("other-" + i, OTHERS.get(i)));
        }
        Files.write(input, lines);
        renamed = dir.resolve("renamed");
        manifestLayout = dir.resolve("manifest-layout");
        assertEquals(0, EmbedpipeMain.execute("embed", "--input", input.toString(), "--output", renamed.toString(),
                "--master", "local[2]"));
        assertEquals(0, EmbedpipeMain.execute("embed", "--input", input.toString(), "--output", manifestLayout.toString(),
                "--master", "local[2]", "--set", "output.commit=manifest"));
        assertThat(manifestLayout.resolve("embeddings")).doesNotExist();
    }

    private static String line(String id, String text) {
        return "{\"id\":\"" + id + "\",\"text\":\"" + text.replace("\"", "\\\"") + "\"}";
    }

    /** Runs a command, returning its exit code, stdout and stderr. */
    record Run(int exit, String out, String err) {}

    static Run run(String... args) {
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        try {
            int exit = EmbedpipeMain.execute(args);
            return new Run(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    static List<Group> parquetRows(Path output) throws IOException {
        Path table = Files.isDirectory(output.resolve("embeddings")) ? output.resolve("embeddings")
                : Path.of(java.net.URI.create(EmbeddingTable.open(output.toString(), new Configuration()).files().get(0).getParent().toString())) ;
        return ParquetTables.rows(table);
    }

    @Test
    void searchOnEitherEngineEqualsABruteForceScanOfTheParquetRows() throws IOException {
        String query = "Where do volcanoes form, and why along plate boundaries?";
        EmbeddingTable table = EmbeddingTable.open(renamed.toString(), new Configuration());
        float[] q = QueryEmbedder.embed(table, ConfigLoader.load(table.manifest().config(), null, Map.of(), List.of()), query);
        Map<String, Double> cosine = new HashMap<>();
        for (Group row : parquetRows(renamed)) {
            float[] v = ParquetTables.floats(row, "embedding");
            double dot = 0;
            for (int k = 0; k < v.length; k++) {
                dot += (double) v[k] * q[k];
            }
            cosine.put(row.getString("chunk_id", 0), dot);
        }
        List<String> expected = cosine.keySet().stream().sorted(Comparator.comparingDouble((String id) -> -cosine.get(id))
                .thenComparing(id -> id)).limit(5).toList();
        for (String engine : List.of("driver", "spark")) {
            Run r = run("search", "--table", renamed.toString(), "--query", query, "-k", "5", "--engine", engine, "--json",
                    "--master", "local[2]");
            assertEquals(0, r.exit(), r.err());
            JsonNode json = new ObjectMapper().readTree(r.out());
            assertEquals(engine, json.get("engine").asText());
            List<String> ids = new ArrayList<>();
            for (JsonNode hit : json.get("hits")) {
                ids.add(hit.get("chunk_id").asText());
                assertEquals(cosine.get(hit.get("chunk_id").asText()), hit.get("score").asDouble(), 1e-5);
            }
            assertEquals(expected, ids, engine);
            assertThat(json.at("/hits/0/doc_id").asText()).startsWith("volcano");
            assertThat(json.at("/hits/3/doc_id").asText()).startsWith("other-");
        }
        Run readable = run("search", "--table", manifestLayout.toString(), "--query", query, "-k", "3");
        assertEquals(0, readable.exit(), readable.err());
        assertThat(readable.out()).contains("rank", "score", "chunk_id", "doc_id", "Volcanoes form where molten rock");
        assertThat(readable.out().lines().skip(2).map(l -> l.trim().split("\\s+")[2]).toList())
                .as("the manifest layout's table (read through the manifest) gives the same chunks")
                .isEqualTo(expected.subList(0, 3));
    }

    @Test
    void aQueryModelOtherThanTheTablesIsRefusedWithExitTwo() {
        Run r = run("search", "--table", renamed.toString(), "--query", "volcano", "--set", "embedder.provider=openai");
        assertEquals(2, r.exit());
        List<String> ours = r.err().lines().filter(l -> l.startsWith("embedpipe:")).toList();
        assertThat(ours).hasSize(1);
        assertThat(ours.get(0)).contains("was embedded with local-onnx sentence-transformers/all-MiniLM-L6-v2 (384 dims)",
                "openai text-embedding-3-small");
        assertEquals(2, run("search", "--table", dir.resolve("nothing").toString(), "--query", "x").exit());
    }

    @Test
    void arrowExportReadsBackWithArrowsReaderEqualToTheParquetValues() throws IOException {
        Path to = dir.resolve("arrow");
        Run r = run("export", "--table", manifestLayout.toString(), "--to", to.toString(), "--format", "arrow", "--batch-rows", "4");
        assertEquals(0, r.exit(), r.err());
        Map<String, Group> parquet = new HashMap<>();
        parquetRows(manifestLayout).forEach(g -> parquet.put(g.getString("chunk_id", 0), g));
        List<Path> files;
        try (Stream<Path> list = Files.list(to)) {
            files = list.filter(p -> p.toString().endsWith(".arrow")).toList();
        }
        assertThat(files).isNotEmpty();
        assertThat(to.resolve("manifest.json")).exists();
        Set<String> seen = new HashSet<>();
        int batches = 0;
        try (RootAllocator allocator = new RootAllocator()) {
            for (Path file : files) {
                try (ArrowFileReader reader = new ArrowFileReader(Files.newByteChannel(file), allocator)) {
                    VectorSchemaRoot root = reader.getVectorSchemaRoot();
                    var embedding = root.getSchema().findField("embedding");
                    assertEquals(new ArrowType.FixedSizeList(384), embedding.getType());
                    assertEquals(new ArrowType.FloatingPoint(FloatingPointPrecision.SINGLE), embedding.getChildren().get(0).getType());
                    assertEquals("sentence-transformers/all-MiniLM-L6-v2", root.getSchema().getCustomMetadata().get("embedpipe.model"));
                    while (reader.loadNextBatch()) {
                        batches++;
                        assertThat(root.getRowCount()).isLessThanOrEqualTo(4);
                        for (int i = 0; i < root.getRowCount(); i++) {
                            String id = new String(((VarCharVector) root.getVector("chunk_id")).get(i), StandardCharsets.UTF_8);
                            Group expected = parquet.get(id);
                            assertThat(seen.add(id)).isTrue();
                            for (FieldVector v : root.getFieldVectors()) {
                                String name = v.getName();
                                if (v instanceof FixedSizeListVector list) {
                                    Float4Vector data = (Float4Vector) list.getDataVector();
                                    float[] want = ParquetTables.floats(expected, name);
                                    for (int k = 0; k < want.length; k++) {
                                        assertEquals(Float.floatToIntBits(want[k]), Float.floatToIntBits(data.get(i * 384 + k)), name);
                                    }
                                } else if (v instanceof IntVector ints) {
                                    assertEquals(expected.getInteger(name, 0), ints.get(i), name);
                                } else {
                                    assertEquals(expected.getString(name, 0),
                                            new String(((VarCharVector) v).get(i), StandardCharsets.UTF_8), name);
                                }
                            }
                        }
                    }
                }
            }
        }
        assertEquals(parquet.keySet(), seen);
        assertThat(batches).as("written in record batches").isGreaterThanOrEqualTo(3);
    }

    @Test
    void dedupeFindsExactlyThePlantedNearDuplicatesByEitherMethod() throws IOException {
        Set<Set<String>> planted = Set.of(Set.of("volcano", "volcano-copy"), Set.of("volcano", "volcano-edited"),
                Set.of("volcano-copy", "volcano-edited"));
        for (String method : List.of("exact", "lsh")) {
            Path to = dir.resolve("dedupe-" + method);
            Run r = run("dedupe", "--table", renamed.toString(), "--threshold", "0.95", "--method", method, "--to", to.toString());
            assertEquals(0, r.exit(), r.err());
            assertThat(r.out()).contains("3 pairs at cosine >= 0.95 among 9 vectors", method);
            List<String> lines = Files.readAllLines(to.resolve("pairs.csv"));
            assertEquals("chunk_id_a,doc_id_a,chunk_id_b,doc_id_b,cosine", lines.get(0));
            Set<Set<String>> found = new HashSet<>();
            for (String line : lines.subList(1, lines.size())) {
                String[] f = line.split(",");
                found.add(Set.of(f[1], f[3]));
                assertThat(Double.parseDouble(f[4])).isGreaterThanOrEqualTo(0.95);
            }
            assertEquals(planted, found, method);
            JsonNode summary = new ObjectMapper().readTree(to.resolve("summary.json").toFile());
            assertEquals(3, summary.at("/result/pairs").asInt());
        }
    }
}
