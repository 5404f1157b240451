package dev.embedpipe.chunk;

import dev.embedpipe.read.Document;
import dev.embedpipe.tokenize.Encoded;
import dev.embedpipe.tokenize.TextTokenizer;
import dev.embedpipe.util.Hashing;

import java.util.ArrayList;
import java.util.List;

/**
 * Token-aware chunking with the model's own tokenizer. Each chunk has at most {@code maxTokens} tokens counting the
 * model's special tokens, so the model never truncates. Cuts prefer a sentence or line end, then any whitespace,
 * within the back half of the window; consecutive chunks share about {@code overlapTokens} tokens, starting at a
 * word boundary. A document that fits is one chunk. The text is tokenized once; only pieces cut inside a word
 * (or by tokenizers that fold spaces into tokens) are tokenized again. A model's document prompt (e5's
 * {@code "passage: "}) is part of what the model sees: it counts against {@code maxTokens} and its ids lead every
 * chunk's ids, while the chunk's text, offsets and content hash are the document's alone.
 */
public final class Chunker {
    private final TextTokenizer tokenizer;
    private final int maxTokens;
    private final int overlapTokens;
    private final int budget;
    private final String prompt;
    /** the prompt's content ids, put after the leading special tokens; null when they cannot simply be joined */
    private final long[] promptIds;
    private final int promptAt;

    public Chunker(TextTokenizer tokenizer, int maxTokens, int overlapTokens) {
        this(tokenizer, maxTokens, overlapTokens, "");
    }

    public Chunker(TextTokenizer tokenizer, int maxTokens, int overlapTokens, String prompt) {
        this.tokenizer = tokenizer;
        this.maxTokens = maxTokens;
        this.overlapTokens = overlapTokens;
        this.prompt = prompt;
        Encoded encoded = prompt.isEmpty() ? null : tokenizer.encode(prompt);
        int promptTokens = encoded == null ? 0 : encoded.contentTokens();
        // A prompt ending in whitespace, with a tokenizer that splits words there, tokenizes apart from the text.
        boolean joinable = encoded == null || (encoded.sliceable() && Character.isWhitespace(prompt.charAt(prompt.length() - 1)));
        this.promptAt = encoded == null ? 0 : encoded.leading();
        this.promptIds = encoded == null ? new long[0]
                : joinable ? java.util.Arrays.copyOfRange(encoded.ids(), promptAt, promptAt + promptTokens) : null;
        this.budget = maxTokens - tokenizer.specialTokens() - promptTokens;
        if (budget < 1 || overlapTokens >= budget) {
            throw new IllegalArgumentException("chunk.max_tokens " + maxTokens + " leaves no room for content after "
                    + tokenizer.specialTokens() + " special tokens, a prompt of " + promptTokens + " and an overlap of " + overlapTokens);
        }
    }

    /** The model's input ids for a piece: the piece's own ids with the prompt's put in front of its content. */
    private long[] prompted(long[] pieceIds, String piece) {
        if (prompt.isEmpty()) {
            return pieceIds;
        }
        if (promptIds == null) {
            return tokenizer.ids(prompt + piece);
        }
        long[] ids = new long[pieceIds.length + promptIds.length];
        System.arraycopy(pieceIds, 0, ids, 0, promptAt);
        System.arraycopy(promptIds, 0, ids, promptAt, promptIds.length);
        System.arraycopy(pieceIds, promptAt, ids, promptAt + promptIds.length, pieceIds.length - promptAt);
        return ids;
    }

    public List<Chunk> chunk(Document doc) {
        String text = doc.text();
        Encoded encoded = tokenizer.encode(text);
        int n = encoded.contentTokens();
        List<Chunk> chunks = new ArrayList<>(n / budget + 1);
        if (n <= budget) {
            long[] ids = prompted(encoded.ids(), text);
            if (ids.length <= maxTokens || n <= 1) {
                chunks.add(build(doc, 0, text, 0, text.length(), ids));
                return chunks;
            }
        }
        int[] starts = encoded.starts();
        int[] ends = encoded.ends();
        int start = 0;
        while (start < n) {
            int end = Math.min(start + budget, n);
            if (end < n) {
                end = boundary(text, starts, ends, start, end);
            }
            while (true) {
                int charStart = starts[start];
                int charEnd = ends[end - 1];
                String piece = text.substring(charStart, charEnd);
                // A piece cut at whitespace is its tokens' slice (for tokenizers that split words there). Any
                // other cut is tokenized again: a cut inside a word can tokenize differently on its own, and the
                // count the model sees is the one that must respect the limit.
                long[] ids = prompted(encoded.sliceable(text, start, end) ? encoded.ids(start, end) : tokenizer.ids(piece), piece);
                if (ids.length <= maxTokens || end - start <= 1) {
                    chunks.add(build(doc, chunks.size(), piece, charStart, charEnd, ids));
                    break;
                }
                end -= Math.max(1, ids.length - maxTokens);
            }
            if (end >= n) {
                break;
            }
            start = wordStart(starts, ends, Math.max(start + 1, end - overlapTokens), end);
        }
        return chunks;
    }

    /** The best cut in (start + budget/2, end]: after a sentence or line end, else at whitespace, else at end. */
    private static int boundary(String text, int[] starts, int[] ends, int start, int end) {
        int lowest = start + Math.max(1, (end - start) / 2);
        int whitespace = -1;
        for (int k = end; k > lowest; k--) {
            boolean gap = starts[k] > ends[k - 1];
            if (gap) {
                char last = text.charAt(ends[k - 1] - 1);
                if (containsNewline(text, ends[k - 1], starts[k]) || last == '.' || last == '!' || last == '?' || last == ';' || last == ':') {
                    return k;
                }
                if (whitespace < 0) {
                    whitespace = k;
                }
            } else {
                char last = text.charAt(ends[k - 1] - 1);
                if (last == '。' || last == '！' || last == '？') {
                    return k; // CJK sentence ends have no space after them
                }
            }
        }
        return whitespace > 0 ? whitespace : end;
    }

    private static boolean containsNewline(String text, int from, int to) {
        for (int i = from; i < to; i++) {
            if (text.charAt(i) == '\n') {
                return true;
            }
        }
        return false;
    }

    /** The first token in [from, limit) that begins a word, so an overlap never starts mid-word; else from. */
    private static int wordStart(int[] starts, int[] ends, int from, int limit) {
        for (int k = from; k < limit; k++) {
            if (starts[k] > ends[k - 1]) {
                return k;
            }
        }
        return from;
    }

    private Chunk build(Document doc, int index, String text, int charStart, int charEnd, long[] ids) {
        String contentHash = Hashing.sha256Hex(text);
        String chunkId = Hashing.sha256Hex(doc.docId() + '\u0000' + index + '\u0000' + contentHash).substring(0, 32);
        return new Chunk(chunkId, doc.docId(), index, text, ids.length, charStart, charEnd, contentHash,
                doc.sourceFile(), doc.metadata(), ids, tokenizer.unknownTokens(ids));
    }
}
