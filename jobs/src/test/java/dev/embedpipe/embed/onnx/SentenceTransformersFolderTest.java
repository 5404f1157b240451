package dev.embedpipe.embed.onnx;

import dev.embedpipe.config.ConfigException;
import dev.embedpipe.config.ConfigLoader;
import dev.embedpipe.config.EmbedpipeConfig;
import dev.embedpipe.embed.Embedder;
import dev.embedpipe.embed.EmbedderRegistry;
import dev.embedpipe.embed.ModelInfo;
import dev.embedpipe.embed.VectorRecipe;
import dev.embedpipe.tokenize.Tokenizers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * embedder.model_path at a sentence-transformers folder, built here from the bge-small-en-v1.5 catalog jar's
 * resources: read as sentence-transformers reads it, its vectors are transformers.js's; what it cannot honour exits 2.
 */
class SentenceTransformersFolderTest {
    private static final String BGE_QUERY = "Represent this sentence for searching relevant passages: ";

    private static Path bgeFolder(Path dir, String poolingConfig, String modules) throws IOException {
        Files.createDirectories(dir.resolve("onnx"));
        Files.createDirectories(dir.resolve("1_Pooling"));
        Files.write(dir.resolve("onnx/model.onnx"), Tokenizers.readBytes("classpath:/bge-small-en-v1.5.onnx"));
        Files.write(dir.resolve("tokenizer.json"), Tokenizers.readBytes("classpath:/bge-small-en-v1.5-tokenizer.json"));
        Files.writeString(dir.resolve("modules.json"), modules);
        Files.writeString(dir.resolve("1_Pooling/config.json"), poolingConfig);
        Files.writeString(dir.resolve("sentence_bert_config.json"), "{\"max_seq_length\": 512, \"do_lower_case\": true}");
        Files.writeString(dir.resolve("config_sentence_transformers.json"),
                "{\"prompts\": {\"query\": \"" + BGE_QUERY + "\", \"document\": \"\"}, \"default_prompt_name\": null}");
        return dir;
    }

    private static final String MODULES = "[{\"idx\":0,\"name\":\"0\",\"path\":\"\",\"type\":\"sentence_transformers.models.Transformer\"},"
            + "{\"idx\":1,\"name\":\"1\",\"path\":\"1_Pooling\",\"type\":\"sentence_transformers.models.Pooling\"},"
            + "{\"idx\":2,\"name\":\"2\",\"path\":\"2_Normalize\",\"type\":\"sentence_transformers.models.Normalize\"}]";
    private static final String CLS = "{\"word_embedding_dimension\": 384, \"pooling_mode_cls_token\": true, "
            + "\"pooling_mode_mean_tokens\": false, \"pooling_mode_max_tokens\": false, \"include_prompt\": true}";

    private static ModelInfo info(Path folder, Map<String, Object> more) {
        java.util.Map<String, Object> set = new java.util.HashMap<>(more);
        set.put("embedder.model_path", folder.toString());
        return EmbedderRegistry.get("local-onnx").modelInfo(ConfigLoader.defaultsWith(set));
    }

    @Test
    void aFolderIsReadAsSentenceTransformersReadsItAndGivesTransformersJsVectors(@TempDir Path tmp) throws IOException {
        Path folder = bgeFolder(tmp.resolve("bge"), CLS, MODULES);
        ModelInfo info = info(folder, Map.of());
        assertEquals(new VectorRecipe(VectorRecipe.Pooling.CLS, true, "", BGE_QUERY), info.recipe());
        assertEquals(512, info.maxInputTokens());
        EmbedpipeConfig config = ConfigLoader.defaultsWith(Map.of("embedder.model_path", folder.toString(), "chunk.max_tokens", 512));
        TransformersJsFixture fixture = TransformersJsFixture.of("bge-small-en-v1.5");
        Embedder.Session session = EmbedderRegistry.get("local-onnx").embedder(config).openSession(config, 1);
        for (int i = 0; i < fixture.inputs().size(); i++) {
            TransformersJsFixture.Input input = fixture.inputs().get(i);
            String text = input.query() ? info.queryText(input.text()) : input.text();
            float[] v = session.embed(List.of(new Embedder.EmbeddingInput(text, Tokenizers.get(info.tokenizer()).ids(text), 0))).vectors()[0];
            double cosine = TransformersJsFixture.cosine(v, fixture.vectors()[i]);
            assertTrue(cosine >= 0.9999, "input " + i + ": " + cosine);
        }
        // config keys override the folder's recipe, and change the model's name
        ModelInfo mean = info(folder, Map.of("embedder.pooling", "mean"));
        assertEquals(VectorRecipe.Pooling.MEAN, mean.recipe().pooling());
        assertTrue(!mean.model().equals(info.model()));
    }

    @Test
    void whatCannotBeHonouredIsAConfigurationErrorNamingIt(@TempDir Path tmp) throws IOException {
        Path dense = bgeFolder(tmp.resolve("dense"), CLS, MODULES.replace("sentence_transformers.models.Normalize", "sentence_transformers.models.Dense"));
        assertTrue(assertThrows(ConfigException.class, () -> info(dense, Map.of())).getMessage().contains("Dense"));
        Path weighted = bgeFolder(tmp.resolve("weighted"), "{\"pooling_mode_weightedmean_tokens\": true}", MODULES);
        assertTrue(assertThrows(ConfigException.class, () -> info(weighted, Map.of())).getMessage().contains("pooling_mode_weightedmean_tokens"));
        Path missing = bgeFolder(tmp.resolve("missing"), CLS, MODULES);
        Files.delete(missing.resolve("sentence_bert_config.json"));
        assertTrue(assertThrows(ConfigException.class, () -> info(missing, Map.of())).getMessage().contains("sentence_bert_config.json"));
    }
}
