package dev.embedpipe.embed.onnx;

import dev.embedpipe.cli.StageChecks;
import dev.embedpipe.config.ConfigException;
import dev.embedpipe.config.ConfigLoader;
import dev.embedpipe.config.EmbedpipeConfig;
import dev.embedpipe.embed.EmbedderRegistry;
import dev.embedpipe.embed.ModelInfo;
import dev.embedpipe.embed.VectorRecipe;
import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** embedder.model names a catalog model; the model name (the cache key's) changes with whatever changes vectors. */
class ModelCatalogTest {

    private static ModelInfo info(Map<String, Object> set) {
        EmbedpipeConfig config = ConfigLoader.defaultsWith(set);
        return EmbedderRegistry.get("local-onnx").modelInfo(config);
    }

    @Test
    void theDefaultKeepsTodaysNameSoTodaysCachesStayValid() {
        ModelInfo info = info(Map.of());
        assertEquals(LocalOnnxProvider.BUNDLED_MODEL_NAME, info.model());
        assertEquals(LocalOnnxProvider.BUNDLED_MODEL_NAME, info.tokenizer().name());
        assertEquals(256, info.maxInputTokens());
        assertEquals(VectorRecipe.MEAN_NORMALIZED, info.recipe());
        assertEquals(info, info(Map.of("embedder.model", "all-MiniLM-L6-v2")));;
    }

    @Test
    void eachEntryRecordsPoolingPromptsAndLimits() {
        ModelInfo bge = info(Map.of("embedder.model", "bge-small-en-v1.5"));
        assertEquals(VectorRecipe.Pooling.CLS, bge.recipe().pooling());
        assertEquals("", bge.documentText(""));
        assertEquals("Represent this sentence for searching relevant passages: q", bge.queryText("q"));
        assertEquals(512, bge.maxInputTokens());
        ModelInfo e5 = info(Map.of("embedder.model", "e5-small-v2-int8"));
        assertEquals(VectorRecipe.Pooling.MEAN, e5.recipe().pooling());
        assertEquals("passage: text", e5.documentText("text"));
        assertEquals("query: q", e5.queryText("q"));
        assertTrue(e5.model().startsWith("e5-small-v2-int8@"), e5.model());
    }

    @Test
    void anythingThatChangesVectorsChangesTheModelName() {
        Set<String> names = new HashSet<>();
        for (Map<String, Object> set : List.<Map<String, Object>>of(Map.of(), Map.of("embedder.document_prompt", "passage: "),
                Map.of("embedder.pooling", "cls"), Map.of("embedder.normalize", false),
                Map.of("embedder.model", "all-MiniLM-L6-v2-int8"), Map.of("embedder.model", "bge-small-en-v1.5"),
                Map.of("embedder.model", "bge-small-en-v1.5-int8"), Map.of("embedder.model", "e5-small-v2"))) {
            assertTrue(names.add(info(set).model()), "a distinct name for " + set);
        }
        // the query prompt changes query vectors only: stored vectors stay reusable
        assertEquals(info(Map.of()).model().length(), LocalOnnxProvider.BUNDLED_MODEL_NAME.length());
        assertNotEquals(info(Map.of("embedder.model", "e5-small-v2", "embedder.document_prompt", "")).model(),
                info(Map.of("embedder.model", "e5-small-v2")).model());
        assertEquals(info(Map.of("embedder.model", "e5-small-v2", "embedder.query_prompt", "q: ")).model(),
                info(Map.of("embedder.model", "e5-small-v2")).model());
    }

    @Test
    void anUnknownModelOrPoolingIsAConfigurationError() {
        ConfigException e = assertThrows(ConfigException.class, () -> info(Map.of("embedder.model", "gpt-5")));
        assertTrue(e.getMessage().contains("bge-small-en-v1.5"), e.getMessage());
        assertThrows(ConfigException.class, () -> info(Map.of("embedder.pooling", "weighted_mean")));
    }

    @Test
    void chunkMaxTokensIsCheckedAgainstTheChosenModelsLimit() {
        assertThrows(ConfigException.class, () -> StageChecks.check(ConfigLoader.defaultsWith(Map.of("chunk.max_tokens", 400))));
        assertEquals(400, ConfigLoader.defaultsWith(Map.of("embedder.model", "bge-small-en-v1.5", "chunk.max_tokens", 400))
                .chunk().maxTokens());
    }
}
