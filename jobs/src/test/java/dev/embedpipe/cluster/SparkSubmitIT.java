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
        List<String> jars = new ArrayList<>();
        try (Stream<Path> lib = Files.list(HOME.resolve("jobs/target/lib"))) { // the args file's jars_dir
            lib.sorted().forEach(p -> jars.add(p.toString()));
        }
        // exactly the arguments of conf/spark-submit.json, which the Airflow DAG and the README use too
        JsonNode args = new ObjectMapper().readTree(HOME.resolve("conf/spark-submit.json").toFile());
        List<String> command = new ArrayList<>(List.of(HOME.resolve("jobs/bin/spark-submit").toString(),
                "--master", cluster.master(), "--deploy-mode", "client",
                "--class", args.get("class").asText(), "--jars", String.join(",", jars),
                "--conf", "spark.driver.host=127.0.0.1",
                // both executors up before the first task, so both take part
                "--conf", "spark.scheduler.minRegisteredResourcesRatio=1.0",
                "--conf", "spark.scheduler.maxRegisteredResourcesWaitingTime=120s"));
        args.get("conf").fields().forEachRemaining(e -> command.addAll(List.of("--conf", e.getKey() + "=" + e.getValue().asText())));
        command.add(HOME.resolve(args.get("application").asText()).toString());
        args.get("application_args").forEach(a -> command.add(a.asText()
                .replace("{input}", HOME.resolve("datasets-sample").toString()).replace("{output}", out.toString())));
        command.addAll(List.of("--set", "input.partition_bytes=65536"));
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(dir.resolve("submit.log").toFile());
        pb.environment().put("EMBEDPIPE_CLUSTER_DIR", dir.resolve("cluster").toString());
        Process submit = pb.start();
        assertThat(submit.waitFor(10, TimeUnit.MINUTES)).isTrue();
        String submitLog = read(dir.resolve("submit.log"));
        assertEquals(0, submit.exitValue(), () -> "spark-submit failed:\n" + submitLog);

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
