package dev.embedpipe.config;

import dev.embedpipe.cli.StageChecks;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class ConfigLoaderTest {
    @TempDir
    Path dir;

    @Test
    void defaultsMatchTheDocumentedOnes() {
        EmbedpipeConfig c = ConfigLoader.defaultsWith(Map.of());
        assertEquals("id", c.input().idField());
        assertEquals("text", c.input().textField());
        assertEquals(100, c.clean().minChars());
        assertEquals(256, c.chunk().maxTokens());
        assertEquals("local-onnx", c.embedder().provider());
        assertEquals(32, c.embedder().batchSize());
        assertEquals("keep-first", c.input().duplicateIds());
        assertEquals(8L << 20, c.input().maxLineBytes());
    }

    @Test
    void layersApplyInOrderFileThenFlagsThenSet() throws Exception {
        Path yaml = dir.resolve("c.yaml");
        Files.writeString(yaml, """
                input:
                  text_field: body
                  paths: [from-file]
                chunk:
                  max_tokens: 200
                """);
        EmbedpipeConfig c = ConfigLoader.load(yaml, Map.of("input.paths", List.of("a", "b")),
                List.of("chunk.max_tokens=128", "clean.steps=[nfkc]", "input.id_field=doc"));
        assertEquals("body", c.input().textField());
        assertEquals(List.of("a", "b"), c.input().paths());
        assertEquals(128, c.chunk().maxTokens());
        assertEquals(List.of("nfkc"), c.clean().steps());
        assertEquals("doc", c.input().idField());
    }

    @Test
    void batchModeKeysAreCheckedWithOneLineEach() {
        EmbedpipeConfig c = ConfigLoader.defaultsWith(Map.of());
        assertEquals("sync", c.embedder().mode());
        assertEquals(60, c.limits().batchPollS());
        assertEquals(25.0, c.limits().batchMaxWaitH());
        assertEquals(0.5, c.cost().batchDiscount());
        assertThat(error("embedder.mode=batch")).startsWith("embedder.mode: batch needs the openai provider");
        assertThat(error("embedder.mode=later")).startsWith("embedder.mode: 'later' is not allowed, use one of [batch, sync]");
        assertThat(error("limits.batch_max_requests_per_file=50001")).startsWith("limits.batch_max_requests_per_file: must be between 1 and 50000");
        assertThat(error("cost.batch_discount=0")).startsWith("cost.batch_discount: a share of the live price");
        assertThat(error("limits.batch_max_wait_h=0")).startsWith("limits.batch_max_wait_h: must be over 0");
    }

    @Test
    void unknownKeysAreRejectedByName() throws Exception {
        Path yaml = dir.resolve("c.yaml");
        Files.writeString(yaml, "chunk:\n  max_tokenz: 10\n");
        assertThat(assertThrows(ConfigException.class, () -> ConfigLoader.load(yaml, Map.of(), List.of())).getMessage())
                .startsWith("chunk.max_tokenz: unknown configuration key");
        assertThat(assertThrows(ConfigException.class,
                () -> ConfigLoader.load(null, Map.of(), List.of("embedder.nope=1"))).getMessage())
                .startsWith("embedder.nope: unknown configuration key");
        assertThat(assertThrows(ConfigException.class,
                () -> ConfigLoader.load(null, Map.of(), List.of("chunk=1"))).getMessage())
                .startsWith("chunk: unknown configuration key");
    }

    @Test
    void outOfRangeAndMistypedValuesNameTheKeyAndWhatIsAllowed() {
        assertThat(error("chunk.max_tokens=1000")).isEqualTo(
                "chunk.max_tokens: must be between 8 and 256 (local-onnx's limit is 256), got 1000");
        assertThat(error("chunk.overlap_tokens=200")).startsWith("chunk.overlap_tokens: must be between 0 and 128");
        assertThat(error("clean.min_chars=-1")).startsWith("clean.min_chars: must be between 0");
        assertThat(error("embedder.batch_size=0")).startsWith("embedder.batch_size: must be between 1 and 4096");
        assertThat(error("chunk.max_tokens=abc")).isEqualTo("chunk.max_tokens: expected an integer, got 'abc'");
        assertThat(error("embedder.provider=nope")).isEqualTo("embedder.provider: unknown provider 'nope', known: [local-onnx, openai, tei]");
        assertThat(error("clean.steps=[nfkc, shout]")).startsWith("clean.steps: unknown step 'shout', allowed: [nfkc,");
        assertThat(error("input.duplicate_ids=first")).startsWith("input.duplicate_ids: 'first' is not allowed");
        assertThat(error("input.text_field=id")).contains("must name different fields");
        assertThat(error("quality.max_reject_ratio=2")).startsWith("quality.max_reject_ratio: must be a ratio between 0 and 1");
        assertThat(error("limits.max_in_flight=0")).startsWith("limits.max_in_flight: must be between 1 and 256");
        assertThat(error("embedder.encoding_format=hex")).startsWith("embedder.encoding_format: 'hex' is not allowed");
        assertThat(assertThrows(ConfigException.class, () -> StageChecks.check(ConfigLoader.load(null, Map.of(),
                List.of("embedder.provider=tei")))).getMessage()).startsWith("embedder.base_url: required for the tei provider");
    }

    @Test
    void remoteProvidersTakeTheirTokenLimitFromTheLimitsAndHeadersAreAFreeFormMap() {
        EmbedpipeConfig c = ConfigLoader.load(null, Map.of(), List.of("embedder.provider=openai", "chunk.max_tokens=8000",
                "embedder.headers={OpenAI-Organization: org-1}", "quality.max_reject_ratio=0"));
        assertEquals(8000, c.chunk().maxTokens());
        assertEquals(Map.of("OpenAI-Organization", "org-1"), c.embedder().headers());
        assertEquals(0.0, c.quality().maxRejectRatio());
        assertThat(error("chunk.max_tokens=9000")).isEqualTo("chunk.max_tokens: must be between 8 and 256 (local-onnx's limit is 256), got 9000");
    }

    @Test
    void embedRequiresInputAndOutput() {
        EmbedpipeConfig c = ConfigLoader.defaultsWith(Map.of());
        assertThat(assertThrows(ConfigException.class, () -> ConfigLoader.requireInputAndOutput(c)).getMessage())
                .startsWith("--input (input.paths)");
    }

    private static String error(String set) {
        return assertThrows(ConfigException.class,
                () -> StageChecks.check(ConfigLoader.load(null, Map.of(), List.of(set)))).getMessage();
    }

    @Test
    void sparkSettingsComeFromYamlAndSecretsNeverReachTheManifest() throws Exception {
        Path yaml = dir.resolve("s3.yaml");
        Files.writeString(yaml, """
                spark:
                  conf:
                    spark.hadoop.fs.s3a.endpoint: http://127.0.0.1:9000
                    spark.hadoop.fs.s3a.secret.key: do-not-record
                    spark.executor.cores: 2
                embedder:
                  headers: {Authorization: Bearer do-not-record, OpenAI-Organization: org-1}
                """);
        EmbedpipeConfig c = ConfigLoader.load(yaml, Map.of(), List.of());
        assertEquals("http://127.0.0.1:9000", c.spark().conf().get("spark.hadoop.fs.s3a.endpoint"));
        assertEquals("2", c.spark().conf().get("spark.executor.cores"));

        var recorded = ConfigLoader.toTree(c);
        assertThat(recorded.toString()).doesNotContain("do-not-record").contains("http://127.0.0.1:9000", "org-1");
        assertEquals(ConfigLoader.REDACTED, recorded.at("/spark/conf/spark.hadoop.fs.s3a.secret.key").asText());
        // a redrive starts from the recorded configuration: redacted values are dropped, not sent
        EmbedpipeConfig again = ConfigLoader.load(recorded, null, Map.of(), List.of());
        assertThat(again.spark().conf()).doesNotContainKey("spark.hadoop.fs.s3a.secret.key")
                .containsEntry("spark.hadoop.fs.s3a.endpoint", "http://127.0.0.1:9000");
        assertThat(again.embedder().headers()).doesNotContainKey("Authorization").containsEntry("OpenAI-Organization", "org-1");
    }

    @Test
    void sparkConfKeysMustBeSparkSettingsAndProgressIntervalInRange() {
        ConfigException notSpark = assertThrows(ConfigException.class,
                () -> ConfigLoader.load(null, Map.of(), List.of("spark.conf={fs.s3a.endpoint: x}")));
        assertThat(notSpark.getMessage()).startsWith("spark.conf:").contains("fs.s3a.endpoint");
        ConfigException interval = assertThrows(ConfigException.class,
                () -> ConfigLoader.load(null, Map.of(), List.of("progress.interval_s=-1")));
        assertThat(interval.getMessage()).startsWith("progress.interval_s");
    }
}
