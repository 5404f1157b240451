package dev.embedpipe.job;

import com.holdenkarau.spark.testing.JavaDatasetSuiteBase;
import com.holdenkarau.spark.testing.SharedJavaSparkContext;
import dev.embedpipe.config.ConfigLoader;
import dev.embedpipe.config.EmbedpipeConfig;
import dev.embedpipe.embed.EmbedderRegistry;
import dev.embedpipe.embed.ModelInfo;
import dev.embedpipe.embed.onnx.OnnxSessions;
import dev.embedpipe.read.InputResolver;
import dev.embedpipe.run.EmbedRun;
import dev.embedpipe.testing.LocalFiles;
import dev.embedpipe.tokenize.Tokenizers;
import dev.embedpipe.write.OutputFolder;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.Serializable;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Per-JVM resources are created once however many tasks use them, and the same input and configuration always
 * give the same table (compared as Datasets with spark-testing-base).
 */
class SharedResourcesTest extends JavaDatasetSuiteBase implements Serializable {
    @TempDir
    static Path dir;

    @BeforeEach
    void startSpark() {
        runBefore();
    }

    @AfterAll
    static void stopSpark() {
        SharedJavaSparkContext.runAfterClass();
    }

    @Test
    void manyTasksInManyStagesShareOneTokenizerAndOneSessionPerJvm() {
        EmbedpipeConfig config = ConfigLoader.defaultsWith(Map.of());
        ModelInfo model = EmbedderRegistry.get("local-onnx").modelInfo(config);
        List<Integer> numbers = IntStream.range(0, 64).boxed().toList();
        Set<String> seen = new HashSet<>();
        for (int stage = 0; stage < 3; stage++) {
            seen.addAll(jsc().parallelize(numbers, 16).mapPartitions(it -> {
                String tokenizer = Integer.toHexString(System.identityHashCode(Tokenizers.get(model.tokenizer())));
                String session = Integer.toHexString(System.identityHashCode(
                        EmbedderRegistry.get("local-onnx").embedder(config)));
                return List.of(tokenizer + "/" + session + "/" + Tokenizers.createdInThisJvm(model.tokenizer()) + "/" + OnnxSessions.createdInThisJvm()).iterator();
            }).collect());
        }
        assertThat(seen).as("48 tasks saw one tokenizer and one session, each created once").hasSize(1);
        assertThat(seen.iterator().next()).endsWith("/1/1");
    }

    @Test
    void theSameInputAndConfigurationGiveTheSameTable() {
        EmbedpipeConfig base = ConfigLoader.defaultsWith(Map.of());
        List<String> input = List.of(LocalFiles.projectHome().resolve("datasets-sample/gsm8k_test_head200.jsonl").toString());
        Dataset<Row> first = runInto(base, input, dir.resolve("first"));
        Dataset<Row> second = runInto(base, input, dir.resolve("second"));
        assertEquals(195, first.count());
        assertDatasetEquals(first.drop("embedding"), second.drop("embedding"));
        assertDatasetApproximateEquals(first.select("chunk_id", "embedding"), second.select("chunk_id", "embedding"), 1e-6);
    }

    private Dataset<Row> runInto(EmbedpipeConfig base, List<String> input, Path output) {
        EmbedpipeConfig config = ConfigLoader.defaultsWith(Map.of("input.paths", input, "output.path", output.toString()));
        EmbedRun.run(spark(), config, InputResolver.resolve(input, spark().sparkContext().hadoopConfiguration(), OutputFolder::isEmbedpipeOutput));
        return spark().read().parquet(output.resolve("embeddings").toString()).orderBy("chunk_id");
    }
}
