package dev.embedpipe.embed.onnx;

import dev.embedpipe.chunk.Chunk;
import dev.embedpipe.chunk.Chunker;
import dev.embedpipe.config.ConfigLoader;
import dev.embedpipe.config.EmbedpipeConfig;
import dev.embedpipe.embed.Embedder;
import dev.embedpipe.embed.EmbedderRegistry;
import dev.embedpipe.embed.ModelInfo;
import dev.embedpipe.read.Document;
import dev.embedpipe.tokenize.TextTokenizer;
import dev.embedpipe.tokenize.Tokenizers;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every catalog model gives the vectors of an independent implementation, transformers.js, on the same ONNX file:
 * real gsm8k texts, texts near the model's token limit, document and query prompts included. The documents go the
 * job's way (the chunker's ids, prompt joined in, batched with padding); the queries search's way.
 */
class LocalModelsAgreeWithTransformersJsTest {
    static int BATCH = Integer.getInteger("batch", 16);

    @ParameterizedTest
    @ValueSource(strings = {"all-MiniLM-L6-v2", "all-MiniLM-L6-v2-int8", "bge-small-en-v1.5", "bge-small-en-v1.5-int8",
            "e5-small-v2", "e5-small-v2-int8"})
    void cosineAtLeast09999OnEveryText(String model) {
        TransformersJsFixture fixture = TransformersJsFixture.of(model);
        EmbedpipeConfig config = ConfigLoader.defaultsWith(Map.of("embedder.model", model));
        ModelInfo info = EmbedderRegistry.get("local-onnx").modelInfo(config);
        TextTokenizer tokenizer = Tokenizers.get(info.tokenizer());
        Chunker chunker = new Chunker(tokenizer, info.maxInputTokens(), 0, info.documentText(""));

        List<Embedder.EmbeddingInput> inputs = new ArrayList<>();
        for (TransformersJsFixture.Input input : fixture.inputs()) {
            long[] ids;
            if (input.query()) {
                ids = tokenizer.ids(info.queryText(input.text()));
            } else {
                List<Chunk> chunks = chunker.chunk(new Document("d", input.text(), "{}", 0, "f", 0, 0, 1, null));
                assertEquals(1, chunks.size(), "a fixture text fits the model in one chunk");
                ids = chunks.get(0).tokenIds();
                assertEquals(ids.length, chunks.get(0).tokenCount());
            }
            assertEquals(input.tokens(), ids.length, "tokens with the prompt, as transformers.js counts them: " + input.text());
            inputs.add(new Embedder.EmbeddingInput(input.text(), ids, ids.length));
        }
        Embedder.Session session = EmbedderRegistry.get("local-onnx").embedder(config).openSession(config, 1);
        double worst = 1;
        for (int from = 0; from < inputs.size(); from += BATCH) {
            List<Embedder.EmbeddingInput> batch = inputs.subList(from, Math.min(from + BATCH, inputs.size()));
            float[][] vectors = session.embed(batch).vectors();
            for (int i = 0; i < vectors.length; i++) {
                double cosine = TransformersJsFixture.cosine(vectors[i], fixture.vectors()[from + i]);
                worst = Math.min(worst, cosine);
                assertTrue(cosine >= 0.9999, model + " input " + (from + i) + ": cosine " + cosine);
                assertEquals(1.0, TransformersJsFixture.cosine(vectors[i], vectors[i]), 1e-6);
            }
        }
        assertTrue(fixture.inputs().stream().anyMatch(i -> i.tokens() >= info.maxInputTokens() * 0.78),
                "texts near the model's limit are among them");
        System.out.printf("%s: %d texts, worst cosine to transformers.js %.7f%n", model, inputs.size(), worst);
    }
}
