package dev.embedpipe.embed;

import dev.embedpipe.chunk.Chunk;
import dev.embedpipe.chunk.Chunker;
import dev.embedpipe.config.ConfigLoader;
import dev.embedpipe.config.EmbedpipeConfig;
import dev.embedpipe.read.Document;
import dev.embedpipe.tokenize.TextTokenizer;
import dev.embedpipe.tokenize.Tokenizers;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static dev.embedpipe.testing.BadLines.hex;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** Which chunks the model could not read, with MiniLM's WordPiece (it has [UNK]) and OpenAI's cl100k (no such token). */
class UnknownTokenCheckTest {
    static final String HEX = hex(10_000); // 20,000 characters, one "word"

    private static List<Chunk> chunks(EmbedpipeConfig config, String text) {
        ModelInfo model = EmbedderRegistry.get(config.embedder().provider()).modelInfo(config);
        return new Chunker(Tokenizers.get(model.tokenizer()), config.chunk().maxTokens(), config.chunk().overlapTokens())
                .chunk(new Document("d", text, "{}", 0, "file:/x.jsonl", 0, 0, 1, null));
    }

    private static UnknownTokenCheck check(EmbedpipeConfig config) {
        return UnknownTokenCheck.of(config, EmbedderRegistry.get(config.embedder().provider()).modelInfo(config));
    }

    @Test
    void aLongHexStringIsOneUnknownTokenToTheLocalModelAndIsRefusedNotRetriable() {
        EmbedpipeConfig config = ConfigLoader.defaultsWith(Map.of());
        List<Chunk> chunks = chunks(config, HEX);
        assertEquals(1, chunks.size());
        assertEquals(3, chunks.get(0).tokenCount(), "[CLS] [UNK] [SEP]");
        assertEquals(1, chunks.get(0).unknownTokens());
        Embedder.EmbeddingError refused = check(config).refusal(chunks.get(0));
        assertThat(refused).isNotNull();
        assertEquals("unknown_tokens", refused.errorClass());
        assertThat(refused.retriable()).isFalse();
        assertThat(refused.message()).startsWith("not embedded: 1 of 1 tokens are the tokenizer's unknown token (1.00, "
                + "over quality.max_unknown_token_ratio 0.5)");
    }

    @Test
    void textWithAFewUnknownWordsIsEmbeddedAndTheThresholdIsMoreThanTheRatio() {
        EmbedpipeConfig config = ConfigLoader.defaultsWith(Map.of());
        String word = hex(60); // 120 characters: over WordPiece's 100 per word, one [UNK]
        Chunk few = chunks(config, "The checksum " + word + " was printed in the log of the nightly build.").get(0);
        assertEquals(1, few.unknownTokens());
        assertNull(check(config).refusal(few));
        // two unknown words and two known ones: exactly half, which is not "mostly"
        Chunk half = chunks(config, word + " hello " + word + " world").get(0);
        assertEquals(2, half.unknownTokens());
        assertEquals(4, half.tokenCount() - 2);
        assertNull(check(config).refusal(half));
        assertThat(check(ConfigLoader.defaultsWith(Map.of("quality.max_unknown_token_ratio", 0.4))).refusal(half)).isNotNull();
        assertNull(UnknownTokenCheck.of(ConfigLoader.defaultsWith(java.util.Collections.singletonMap("quality.max_unknown_token_ratio", null)),
                EmbedderRegistry.get("local-onnx").modelInfo(config)), "null switches it off");
    }

    @Test
    void aChunkReadBackFromErrorsIsCountedByTokenizingItsText() {
        EmbedpipeConfig config = ConfigLoader.defaultsWith(Map.of());
        Chunk counted = chunks(config, HEX).get(0);
        Chunk readBack = new Chunk(counted.chunkId(), counted.docId(), 0, counted.text(), counted.tokenCount(), 0,
                counted.text().length(), counted.contentHash(), counted.sourceFile(), "{}", null);
        assertEquals(-1, readBack.unknownTokens());
        assertThat(check(config).refusal(readBack)).isNotNull();
    }

    @Test
    void cl100kHasNoUnknownTokenSoTheCheckNeverAppliesToOpenAi() {
        EmbedpipeConfig config = ConfigLoader.defaultsWith(Map.of("embedder.provider", "openai", "embedder.api_key_env", "PATH"));
        TextTokenizer cl100k = Tokenizers.get(EmbedderRegistry.get("openai").modelInfo(config).tokenizer());
        assertThat(cl100k.hasUnknownToken()).isFalse();
        List<Chunk> chunks = chunks(config, HEX);
        assertThat(chunks).allSatisfy(c -> {
            assertEquals(0, c.unknownTokens());
            assertNull(check(config).refusal(c));
        });
    }
}
