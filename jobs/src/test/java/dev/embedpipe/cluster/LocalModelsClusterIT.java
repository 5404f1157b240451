package dev.embedpipe.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.embedpipe.embed.onnx.TransformersJsFixture;
import dev.embedpipe.testing.ParquetTables;
import dev.embedpipe.tokenize.Tokenizers;
import org.apache.parquet.example.data.Group;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Issue 14 on a standalone cluster of two workers, submitted as the README says: a catalog model other than the
 * default ({@code --set embedder.model=bge-small-en-v1.5}, its jar the only model jar in {@code --jars}), and a
 * sentence-transformers folder of one's own shipped with {@code --archives model.zip#model} (no model jar at all).
 * Each writes transformers.js's vectors for the texts of its fixture (cosine >= 0.9999, texts of up to 504 tokens
 * among them) and a manifest naming the model. The same two runs in local mode ({@code local[2]}) go through the
 * launcher, jobs/bin/embedpipe, which reads the catalog model from jobs/target/models and the folder from its path.
 */
class LocalModelsClusterIT {
    static final Path HOME = SparkSubmitIT.HOME;
    private static final String BGE = "bge-small-en-v1.5";
    @TempDir
    static Path dir;
    static StandaloneCluster cluster;
    static TransformersJsFixture fixture;
    static Path input;

    @BeforeAll
    static void startCluster() throws Exception {
        fixture = TransformersJsFixture.of(BGE);
        input = Files.createDirectories(dir.resolve("input"));
        ObjectMapper json = new ObjectMapper();
        StringBuilder[] files = {new StringBuilder(), new StringBuilder()}; // two files: a task for each executor
        for (int i = 0; i < fixture.inputs().size(); i++) {
            if (!fixture.inputs().get(i).query()) {
                ObjectNode line = json.createObjectNode().put("id", "doc-" + i).put("text", fixture.inputs().get(i).text());
                files[i % 2].append(json.writeValueAsString(line)).append('\n');
            }
        }
        Files.writeString(input.resolve("fixture-a.jsonl"), files[0]);
        Files.writeString(input.resolve("fixture-b.jsonl"), files[1]);
        cluster = StandaloneCluster.start(HOME, dir.resolve("cluster"), 2);
    }

    @AfterAll
    static void stopCluster() throws Exception {
        if (cluster != null) {
            cluster.close();
        }
    }

    @Test
    void aCatalogModelRunsWithOnlyItsJarShipped() throws Exception {
        JsonNode spec = new ObjectMapper().readTree(HOME.resolve("conf/spark-submit.json").toFile());
        Path modelJar = HOME.resolve(spec.get("models_dir").asText()).resolve(spec.at("/model_jars/" + BGE).asText());
        Path out = dir.resolve("out-bge");
        submit(dir, out, List.of(modelJar.toString()), List.of(), List.of("--set", "embedder.model=" + BGE));

        JsonNode manifest = new ObjectMapper().readTree(out.resolve("manifest.json").toFile());
        assertThat(manifest.at("/model/model").asText()).startsWith(BGE + "@");
        assertVectorsAreTransformersJs(out, manifest);
    }

    @Test
    void aSentenceTransformersFolderTravelsAsAnArchive() throws Exception {
        Path driverDir = Files.createDirectories(dir.resolve("driver"));
        Path folder = bgeFolder(driverDir.resolve("model")); // the driver reads it where it runs (client mode)
        Path zip = zip(folder, dir.resolve("model.zip"));
        Path out = dir.resolve("out-folder");
        submit(driverDir, out, List.of(), List.of("--archives", zip + "#model"),
                List.of("--set", "embedder.model_path=model"));

        JsonNode manifest = new ObjectMapper().readTree(out.resolve("manifest.json").toFile());
        // named by the folder and by what defines its vectors: the same key as the catalog's bge, whose files it holds
        assertThat(manifest.at("/model/model").asText()).startsWith("model@");
        assertVectorsAreTransformersJs(out, manifest);
        // each executor read the archive Spark unpacked in its working folder, not the driver's copy
        List<Path> unpacked;
        try (Stream<Path> files = Files.walk(dir.resolve("cluster"))) {
            unpacked = files.filter(p -> p.endsWith("model/modules.json")).toList();
        }
        assertThat(unpacked).as("archives unpacked by executors").isNotEmpty();
    }

    @Test
    void aCatalogModelRunsInLocalModeThroughTheLauncher() throws Exception {
        Path out = dir.resolve("out-bge-local");
        launch(out, List.of("--set", "embedder.model=" + BGE));

        JsonNode manifest = new ObjectMapper().readTree(out.resolve("manifest.json").toFile());
        assertThat(manifest.at("/spark/master").asText()).isEqualTo("local[2]");
        assertThat(manifest.at("/model/model").asText()).startsWith(BGE + "@");
        assertVectorsAreTransformersJs(out, manifest);
    }

    @Test
    void aSentenceTransformersFolderRunsInLocalModeThroughTheLauncher() throws Exception {
        Path folder = bgeFolder(dir.resolve("local-folder/model"));
        Path out = dir.resolve("out-folder-local");
        launch(out, List.of("--set", "embedder.model_path=" + folder.toAbsolutePath()));

        JsonNode manifest = new ObjectMapper().readTree(out.resolve("manifest.json").toFile());
        assertThat(manifest.at("/spark/master").asText()).isEqualTo("local[2]");
        assertThat(manifest.at("/model/model").asText()).startsWith(folder.toAbsolutePath() + "@"); // named as given
        assertVectorsAreTransformersJs(out, manifest);
    }

    /** Every row is one whole fixture text with transformers.js's vector for it; the texts of 400-512 tokens too. */
    private static void assertVectorsAreTransformersJs(Path out, JsonNode manifest) throws IOException {
        assertEquals("succeeded", manifest.at("/status").asText());
        assertThat(manifest.at("/totals/reconciled").asBoolean()).isTrue();
        List<Group> rows = ParquetTables.rows(out.resolve("embeddings"));
        assertEquals(manifest.at("/totals/embedded").asLong(), rows.size());
        int longTexts = 0;
        for (Group row : rows) {
            int i = Integer.parseInt(row.getString("doc_id", 0).substring("doc-".length()));
            assertEquals(0, row.getInteger("chunk_index", 0), "one chunk per text");
            assertEquals(fixture.inputs().get(i).tokens(), row.getInteger("token_count", 0), "doc-" + i);
            double cosine = TransformersJsFixture.cosine(ParquetTables.floats(row, "embedding"), fixture.vectors()[i]);
            assertThat(cosine).as("doc-%d", i).isGreaterThanOrEqualTo(0.9999);
            assertEquals(manifest.at("/model/model").asText(), row.getString("model", 0));
            longTexts += fixture.inputs().get(i).tokens() >= 400 ? 1 : 0;
        }
        assertThat(rows).as("rows (the quality filter may drop the shortest texts)").hasSizeGreaterThanOrEqualTo(50);
        assertThat(longTexts).as("texts of 400-512 tokens").isGreaterThanOrEqualTo(8);
    }

    /** A sentence-transformers export of bge-small-en-v1.5, its files taken from the catalog jar. */
    private static Path bgeFolder(Path folder) throws IOException {
        Files.createDirectories(folder.resolve("1_Pooling"));
        Files.write(folder.resolve("model.onnx"), Tokenizers.readBytes("classpath:/bge-small-en-v1.5.onnx"));
        Files.write(folder.resolve("tokenizer.json"), Tokenizers.readBytes("classpath:/bge-small-en-v1.5-tokenizer.json"));
        Files.writeString(folder.resolve("modules.json"), "["
                + "{\"idx\":0,\"name\":\"0\",\"path\":\"\",\"type\":\"sentence_transformers.models.Transformer\"},"
                + "{\"idx\":1,\"name\":\"1\",\"path\":\"1_Pooling\",\"type\":\"sentence_transformers.models.Pooling\"},"
                + "{\"idx\":2,\"name\":\"2\",\"path\":\"2_Normalize\",\"type\":\"sentence_transformers.models.Normalize\"}]");
        Files.writeString(folder.resolve("1_Pooling/config.json"), "{\"word_embedding_dimension\": 384, "
                + "\"pooling_mode_cls_token\": true, \"pooling_mode_mean_tokens\": false, \"include_prompt\": true}");
        Files.writeString(folder.resolve("sentence_bert_config.json"), "{\"max_seq_length\": 512, \"do_lower_case\": true}");
        return folder;
    }

    private static Path zip(Path folder, Path zip) throws IOException {
        try (OutputStream file = Files.newOutputStream(zip); ZipOutputStream out = new ZipOutputStream(file);
             Stream<Path> files = Files.walk(folder)) {
            for (Path p : files.filter(Files::isRegularFile).sorted().toList()) {
                out.putNextEntry(new ZipEntry(folder.relativize(p).toString().replace('\\', '/')));
                Files.copy(p, out);
                out.closeEntry();
            }
        }
        return zip;
    }

    /**
     * jobs/bin/spark-submit with conf/spark-submit.json's class, conf and application arguments, the application's
     * libraries plus {@code modelJars} only, from {@code workDir}; the texts may be 512 tokens long.
     */
    private static void submit(Path workDir, Path out, List<String> modelJars, List<String> options, List<String> set)
            throws Exception {
        JsonNode args = new ObjectMapper().readTree(HOME.resolve("conf/spark-submit.json").toFile());
        List<String> jars = new ArrayList<>();
        try (Stream<Path> lib = Files.list(HOME.resolve(args.get("jars_dir").asText()))) {
            lib.sorted().forEach(p -> jars.add(p.toString()));
        }
        jars.addAll(modelJars);
        List<String> command = new ArrayList<>(List.of(HOME.resolve("jobs/bin/spark-submit").toString(),
                "--master", cluster.master(), "--deploy-mode", "client", "--conf", "spark.driver.host=127.0.0.1",
                "--conf", "spark.scheduler.minRegisteredResourcesRatio=1.0",
                "--conf", "spark.scheduler.maxRegisteredResourcesWaitingTime=120s",
                "--class", args.get("class").asText(), "--jars", String.join(",", jars)));
        command.addAll(options);
        args.get("conf").fields().forEachRemaining(e -> command.addAll(List.of("--conf", e.getKey() + "=" + e.getValue().asText())));
        command.add(HOME.resolve(args.get("application").asText()).toString());
        args.get("application_args").forEach(a -> command.add(a.asText()
                .replace("{input}", input.toString()).replace("{output}", out.toString())));
        run(workDir, out, command, set);
    }

    /** The README's local command, jobs/bin/embedpipe embed, on {@code local[2]}; the texts may be 512 tokens long. */
    private static void launch(Path out, List<String> set) throws Exception {
        run(dir, out, new ArrayList<>(List.of(HOME.resolve("jobs/bin/embedpipe").toString(), "embed",
                "--input", input.toString(), "--output", out.toString(), "--master", "local[2]")), set);
    }

    /** {@code command} plus {@code set} from {@code workDir}, its output in a log shown when it fails. */
    private static void run(Path workDir, Path out, List<String> command, List<String> set) throws Exception {
        command.addAll(List.of("--set", "chunk.max_tokens=512"));
        command.addAll(set);
        Path log = dir.resolve(out.getFileName() + ".log");
        ProcessBuilder pb = new ProcessBuilder(command).directory(workDir.toFile()).redirectErrorStream(true)
                .redirectOutput(log.toFile());
        pb.environment().put("EMBEDPIPE_CLUSTER_DIR", dir.resolve("cluster").toString());
        Process process = pb.start();
        assertThat(process.waitFor(10, TimeUnit.MINUTES)).isTrue();
        String text = Files.readString(log, StandardCharsets.ISO_8859_1);
        assertEquals(0, process.exitValue(), () -> command.get(0) + " failed:\n" + text);
    }
}
