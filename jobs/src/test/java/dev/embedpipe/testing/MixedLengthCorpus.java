package dev.embedpipe.testing;

import dev.embedpipe.bench.BenchCorpus;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.embedpipe.chunk.Chunk;
import dev.embedpipe.chunk.Chunker;
import dev.embedpipe.read.Document;
import dev.embedpipe.tokenize.TextTokenizer;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Chunks of mixed lengths from the repository's corpora (datasets-test/), as a real partition meets them: short gsm8k_test questions with,
 * after every {@code shortPerLong} of them, a long document (consecutive WordNet glosses joined) cut into 256-token
 * chunks by the real chunker, token ids included.
 */
public final class MixedLengthCorpus {
    private static final int LONG_CHUNK_TOKENS = 256;
    private static final int GLOSSES_PER_LONG_DOCUMENT = 60;

    private MixedLengthCorpus() {}

    public static List<Chunk> chunks(TextTokenizer tokenizer, int shortTexts, int shortPerLong) {
        List<String> questions = texts(BenchCorpus.gsm8kTest(), shortTexts);
        List<String> glosses = texts(BenchCorpus.wordnetGlosses(),
                (shortTexts / shortPerLong + 1) * GLOSSES_PER_LONG_DOCUMENT);
        Chunker shortChunker = new Chunker(tokenizer, LONG_CHUNK_TOKENS, 0);
        Chunker longChunker = new Chunker(tokenizer, LONG_CHUNK_TOKENS, 32);
        List<Chunk> chunks = new ArrayList<>();
        for (int i = 0; i < questions.size(); i++) {
            chunks.addAll(shortChunker.chunk(doc("q-" + i, questions.get(i))));
            int longIndex = i / shortPerLong;
            if ((i + 1) % shortPerLong == 0 && (longIndex + 1) * GLOSSES_PER_LONG_DOCUMENT <= glosses.size()) {
                String text = String.join(" ", glosses.subList(longIndex * GLOSSES_PER_LONG_DOCUMENT,
                        (longIndex + 1) * GLOSSES_PER_LONG_DOCUMENT));
                chunks.addAll(longChunker.chunk(doc("wn-" + longIndex, text)));
            }
        }
        return chunks;
    }

    /** The first {@code limit} {@code text} fields of a JSONL file. */
    public static List<String> texts(Path jsonl, int limit) {
        ObjectMapper json = new ObjectMapper();
        List<String> texts = new ArrayList<>();
        try (BufferedReader reader = Files.newBufferedReader(jsonl)) {
            String line;
            while (texts.size() < limit && (line = reader.readLine()) != null) {
                texts.add(json.readTree(line).get("text").asText());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return texts;
    }

    private static Document doc(String id, String text) {
        return new Document(id, text, "{}", 0, "file:/mixed.jsonl", 0, 0, 1, null);
    }
}
