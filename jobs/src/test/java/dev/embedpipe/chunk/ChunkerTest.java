package dev.embedpipe.chunk;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import dev.embedpipe.config.ConfigLoader;
import dev.embedpipe.embed.EmbedderRegistry;
import dev.embedpipe.embed.ModelInfo;
import dev.embedpipe.read.Document;
import dev.embedpipe.tokenize.TextTokenizer;
import dev.embedpipe.tokenize.Tokenizers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ChunkerTest {
    private static TextTokenizer tokenizer;
    /** An independent tokenizer, built straight from tokenizer.json with DJL's defaults but no truncation. */
    private static HuggingFaceTokenizer reference;

    private static final String PARAGRAPH = "The quick brown fox jumps over the lazy dog. It was not amused! "
            + "Would the dog chase it? Nobody knows; the fox left quickly.\n"
            + "Foxes are small omnivores: they eat rodents, fruit and insects. ";

    @BeforeAll
    static void load() throws Exception {
        ModelInfo model = EmbedderRegistry.get("local-onnx").modelInfo(ConfigLoader.defaultsWith(Map.of()));
        tokenizer = Tokenizers.get(model.tokenizer());
        reference = HuggingFaceTokenizer.newInstance(new ByteArrayInputStream(Tokenizers.readBytes(model.tokenizer().location())),
                Map.of("truncation", "false", "padding", "false", "modelMaxLength", "100000"));
    }

    @AfterAll
    static void close() {
        reference.close();
    }

    private static Document doc(String text) {
        return new Document("doc-1", text, "{}", 0, "file:/x.jsonl", 0, 0, 1, null);
    }

    private static int independentCount(String text) {
        return reference.encode(text, true, false).getIds().length;
    }

    /** The invariants every chunking must keep, whatever the text. */
    private static List<Chunk> checkedChunks(String text, int max, int overlap) {
        List<Chunk> chunks = new Chunker(tokenizer, max, overlap).chunk(doc(text));
        assertThat(chunks).isNotEmpty();
        int coveredTo = 0;
        for (int i = 0; i < chunks.size(); i++) {
            Chunk c = chunks.get(i);
            assertEquals(i, c.chunkIndex());
            assertEquals(text.substring(c.charStart(), c.charEnd()), c.text(), "offsets point into the cleaned text");
            assertThat(independentCount(c.text())).as("chunk %d re-tokenized", i).isEqualTo(c.tokenCount()).isLessThanOrEqualTo(max);
            assertThat(c.charStart()).as("no gap before chunk %d", i).isLessThanOrEqualTo(coveredTo == 0 ? 0 : coveredTo + 1);
            coveredTo = Math.max(coveredTo, c.charEnd());
            assertEquals(64, c.contentHash().length());
            assertEquals(32, c.chunkId().length());
        }
        assertThat(text.substring(coveredTo).isBlank()).as("the end of the text is covered").isTrue();
        assertEquals(chunks.size(), chunks.stream().map(Chunk::chunkId).collect(Collectors.toSet()).size());
        return chunks;
    }

    @Test
    void aDocumentPromptLeadsEveryChunksIdsAndCountsAgainstTheLimit() {
        String text = PARAGRAPH.repeat(12);
        for (String prompt : List.of("passage: ", "Represent this: ")) {
            List<Chunk> chunks = new Chunker(tokenizer, 64, 8, prompt).chunk(doc(text));
            assertThat(chunks).hasSizeGreaterThan(1);
            for (Chunk c : chunks) {
                assertEquals(text.substring(c.charStart(), c.charEnd()), c.text(), "the text is the document's alone");
                assertThat(c.tokenIds()).as("ids as the model gets them for prompt + text")
                        .isEqualTo(reference.encode(prompt + c.text(), true, false).getIds());
                assertThat(c.tokenCount()).isEqualTo(c.tokenIds().length).isLessThanOrEqualTo(64);
            }
        }
        Chunk whole = new Chunker(tokenizer, 64, 8, "passage: ").chunk(doc("A short one.")).get(0);
        assertThat(whole.tokenIds()).isEqualTo(reference.encode("passage: A short one.", true, false).getIds());
    }

    @Test
    void aShortDocumentIsOneChunkWithItsWholeText() {
        Chunk only = checkedChunks("Hello world.", 256, 32).get(0);
        assertEquals("Hello world.", only.text());
        assertEquals(0, only.charStart());
        assertEquals(12, only.charEnd());
        assertEquals(5, only.tokenCount(), "[CLS] hello world . [SEP]");
    }

    @Test
    void aVeryLongDocumentIsCutAtSentenceEndsWithinTheLimit() {
        String text = PARAGRAPH.repeat(400).trim(); // ~16,000 tokens
        List<Chunk> chunks = checkedChunks(text, 256, 32);
        assertThat(chunks.size()).isBetween(16_000 / 256, 16_000 / 150);
        long atSentenceEnd = chunks.stream().limit(chunks.size() - 1)
                .filter(c -> c.text().endsWith(".") || c.text().endsWith("!") || c.text().endsWith("?")
                        || c.text().endsWith(";") || c.text().endsWith(":")).count();
        assertThat(atSentenceEnd).as("cuts prefer sentence ends").isEqualTo(chunks.size() - 1);
        assertThat(chunks.stream().mapToInt(Chunk::tokenCount).min().orElseThrow()).isGreaterThan(40);
    }

    @Test
    void overlapRepeatsTextBetweenConsecutiveChunksAndZeroOverlapDoesNot() {
        String text = PARAGRAPH.repeat(20).trim();
        List<Chunk> overlapping = checkedChunks(text, 64, 16);
        for (int i = 1; i < overlapping.size(); i++) {
            assertThat(overlapping.get(i).charStart()).as("chunk %d overlaps", i).isLessThan(overlapping.get(i - 1).charEnd());
            assertTrue(overlapping.get(i).charStart() == 0 || Character.isWhitespace(text.charAt(overlapping.get(i).charStart() - 1)),
                    "an overlap starts at a word");
        }
        List<Chunk> disjoint = checkedChunks(text, 64, 0);
        for (int i = 1; i < disjoint.size(); i++) {
            assertThat(disjoint.get(i).charStart()).isGreaterThanOrEqualTo(disjoint.get(i - 1).charEnd());
        }
        assertThat(overlapping.size()).isGreaterThan(disjoint.size());
    }

    @Test
    void textExactlyAtTheLimitIsOneChunkAndOneTokenMoreIsTwo() {
        // "word" is one token; with [CLS] and [SEP], 254 words are exactly 256 tokens.
        String atLimit = "word ".repeat(254).trim();
        List<Chunk> one = checkedChunks(atLimit, 256, 32);
        assertEquals(1, one.size());
        assertEquals(256, one.get(0).tokenCount());
        List<Chunk> two = checkedChunks(atLimit + " word", 256, 32);
        assertEquals(2, two.size());
        assertEquals(256, two.get(0).tokenCount());
    }

    @Test
    void emojiAndCjkKeepValidOffsetsAndLimits() {
        String text = ("数学は楽しいです。東京の天気は晴れ！🎉🎉 Emoji 👩‍👩‍👧 and 中文字符混合 text. ").repeat(60);
        List<Chunk> chunks = checkedChunks(text.trim(), 64, 8);
        assertThat(chunks.size()).isGreaterThan(5);
        for (Chunk c : chunks) {
            assertThat(Character.isLowSurrogate(c.text().charAt(0))).as("no chunk starts inside a surrogate pair").isFalse();
            assertThat(Character.isHighSurrogate(c.text().charAt(c.text().length() - 1))).isFalse();
        }
        String noSpaces = "中文字符没有空格".repeat(200);
        checkedChunks(noSpaces, 32, 4);
    }

    @Test
    void tokenSpansAreJavaStringIndexesAlsoPastEmoji() {
        dev.embedpipe.tokenize.Encoded e = tokenizer.encode("a 🎉 b 👩‍👩‍👧 c");
        assertThat(e.starts()).containsExactly(0, 2, 5, 7, 16);
        assertThat(e.ends()).containsExactly(1, 4, 6, 15, 17);
    }

    @Test
    void chunkIdsAreDeterministicAndDependOnDocumentAndPlace() {
        String text = PARAGRAPH.repeat(10).trim();
        Chunker chunker = new Chunker(tokenizer, 64, 8);
        List<String> first = chunker.chunk(doc(text)).stream().map(Chunk::chunkId).toList();
        assertEquals(first, chunker.chunk(doc(text)).stream().map(Chunk::chunkId).toList());
        Document other = new Document("doc-2", text, "{}", 0, "file:/x.jsonl", 0, 0, 1, null);
        Set<String> otherIds = chunker.chunk(other).stream().map(Chunk::chunkId).collect(Collectors.toSet());
        assertThat(otherIds).doesNotContainAnyElementsOf(first);
    }

    @Test
    void theModelsInputIdsTravelWithTheChunk() {
        for (Chunk c : new Chunker(tokenizer, 64, 8).chunk(doc(PARAGRAPH.repeat(5)))) {
            assertThat(c.tokenIds()).containsExactly(reference.encode(c.text(), true, false).getIds());
        }
    }

    @Test
    void piecesCutAtWhitespaceAreExactlyTheirTokensOnRealText() throws Exception {
        // gsm8k problems joined 20 to a document: long texts, cut mostly at whitespace, so taken as token slices.
        java.nio.file.Path sample = java.nio.file.Path.of(System.getProperty("embedpipe.home", ".."), "datasets-sample",
                "gsm8k_test_head200.jsonl");
        List<String> texts = new java.util.ArrayList<>();
        for (String line : java.nio.file.Files.readAllLines(sample)) {
            texts.add(dev.embedpipe.embed.remote.WireFormat.JSON.readTree(line).get("text").textValue());
        }
        for (int i = 0; i < texts.size(); i += 20) {
            String text = String.join("\n\n", texts.subList(i, i + 20));
            for (Chunk c : checkedChunks(text, 128, 16)) {
                assertThat(c.tokenIds()).containsExactly(reference.encode(c.text(), true, false).getIds());
            }
        }
    }

    @Test
    void onlyTokenizersThatSplitWordsAtWhitespaceAreSliced() {
        assertThat(tokenizer.encode("one two").sliceable()).isTrue();
        ModelInfo openAi = EmbedderRegistry.get("openai").modelInfo(ConfigLoader.defaultsWith(Map.of("embedder.provider", "openai")));
        assertThat(Tokenizers.get(openAi.tokenizer()).encode("one two").sliceable()).as("cl100k folds spaces into tokens").isFalse();
    }
}
