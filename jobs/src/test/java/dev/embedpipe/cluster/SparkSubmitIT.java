package dev.embedpipe.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.embedpipe.testing.ParquetTables;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The thin application jar submitted with a stock spark-submit (jobs/bin/spark-submit: Spark's jars only) to a
 * standalone cluster of two workers, the application's libraries shipped with --jars: the table is whole, and each
 * executor JVM created its tokenizer and its ONNX session exactly once, whatever number of tasks it ran.
 */
class SparkSubmitIT {
    static final Path HOME = Path.of(System.getProperty("embedpipe.home", "..")).toAbsolutePath().normalize();
    @TempDir
    static Path dir;
    static StandaloneCluster cluster;

    @BeforeAll
    static void startCluster() throws Exception {
        cluster = StandaloneCluster.start(HOME, dir.resolve("cluster"), 2);
    }

    @AfterAll
    static void stopCluster() throws Exception {
        if (cluster != null) {
            cluster.close();
        }
    }

    @Test
    void theSampleRunsOnTwoWorkersWithOneTokenizerAndOneSessionPerExecutor() throws Exception {
        Path out = dir.resolve("out");
        String submitLog = submit(cluster.master(), out, List.of(
                "--conf", "spark.driver.host=127.0.0.1",
                // both executors up before the first task, so both take part
                "--conf", "spark.scheduler.minRegisteredResourcesRatio=1.0",
                "--conf", "spark.scheduler.maxRegisteredResourcesWaitingTime=120s"));
        // the operator follows the run on the console
        assertThat(submitLog).contains("embedpipe: progress ");

        JsonNode manifest = new ObjectMapper().readTree(out.resolve("manifest.json").toFile());
        assertThat(manifest.at("/spark/master").asText()).isEqualTo(cluster.master());
        assertThat(manifest.at("/totals/reconciled").asBoolean()).isTrue();
        assertEquals(358, ParquetTables.rows(out.resolve("embeddings")).size());

        List<Path> logs = cluster.executorLogs();
        assertThat(logs).as("executor logs").hasSizeGreaterThanOrEqualTo(2);
        int executorsThatEmbedded = 0;
        for (Path log : logs) {
            String text = read(log);
            int tokenizers = count(text, "created tokenizer sentence-transformers/all-MiniLM-L6-v2 in JVM");
            int sessions = count(text, "created ONNX session for");
            assertThat(tokenizers).as("tokenizers created in %s", log).isLessThanOrEqualTo(1);
            assertThat(sessions).as("ONNX sessions created in %s", log).isLessThanOrEqualTo(1);
            executorsThatEmbedded += sessions;
        }
        assertThat(executorsThatEmbedded).as("both workers' executors embedded").isEqualTo(2);
    }

    /** The README's local line: the same arguments file, {@code --master local[2]}, no cluster. */
    @Test
    void theSameArgumentsRunInLocalMode() throws Exception {
        Path out = dir.resolve("out-local");
        submit("local[2]", out, List.of());
        JsonNode manifest = new ObjectMapper().readTree(out.resolve("manifest.json").toFile());
        assertThat(manifest.at("/spark/master").asText()).isEqualTo("local[2]");
        assertThat(manifest.at("/status").asText()).isEqualTo("succeeded");
        assertEquals(358, ParquetTables.rows(out.resolve("embeddings")).size());
    }

    /** jobs/bin/spark-submit with exactly the arguments of conf/spark-submit.json (the DAG's and the README's). */
    private static String submit(String master, Path out, List<String> extraConf) throws Exception {
        List<String> jars = new ArrayList<>();
        try (Stream<Path> lib = Files.list(HOME.resolve("jobs/target/lib"))) { // the args file's jars_dir
            lib.sorted().forEach(p -> jars.add(p.toString()));
        }
        JsonNode args = new ObjectMapper().readTree(HOME.resolve("conf/spark-submit.json").toFile());
        jars.add(HOME.resolve(args.get("models_dir").asText())
                .resolve(args.at("/model_jars/" + args.get("default_model").asText()).asText()).toString());
        List<String> command = new ArrayList<>(List.of(HOME.resolve("jobs/bin/spark-submit").toString(),
                "--master", master, "--deploy-mode", "client",
                "--class", args.get("class").asText(), "--jars", String.join(",", jars)));
        command.addAll(extraConf);
        args.get("conf").fields().forEachRemaining(e -> command.addAll(List.of("--conf", e.getKey() + "=" + e.getValue().asText())));
        command.add(HOME.resolve(args.get("application").asText()).toString());
        args.get("application_args").forEach(a -> command.add(a.asText()
                .replace("{input}", HOME.resolve("datasets-sample").toString()).replace("{output}", out.toString())));
        command.addAll(List.of("--set", "input.partition_bytes=65536", "--set", "progress.interval_s=2"));
        Path log = dir.resolve(out.getFileName() + "-submit.log");
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("EMBEDPIPE_CLUSTER_DIR", dir.resolve("cluster").toString());
        Process submit = pb.start();
        assertThat(submit.waitFor(10, TimeUnit.MINUTES)).isTrue();
        String submitLog = read(log);
        assertEquals(0, submit.exitValue(), () -> "spark-submit failed:\n" + submitLog);
        return submitLog;
    }

    private static int count(String text, String what) {
        Matcher m = Pattern.compile(Pattern.quote(what)).matcher(text);
        int n = 0;
        while (m.find()) {
            n++;
        }
        return n;
    }

    private static String read(Path file) throws java.io.IOException {
        return Files.readString(file, java.nio.charset.StandardCharsets.ISO_8859_1);
    }
}
