package dev.embedpipe.tokenize;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.huggingface.tokenizers.jni.CharSpan;
import ai.djl.huggingface.tokenizers.jni.TokenizersLibrary;
import com.fasterxml.jackson.databind.JsonNode;

import java.util.Set;

/**
 * A Hugging Face tokenizer with truncation and padding switched off (chunking must see every token) and special
 * tokens added (they count toward the model's limit). Thread-safe: the native tokenizer is immutable.
 *
 * <p>Encodings are read straight from DJL's native library, taking only what is used: DJL's {@code encode} also
 * copies out every token as a Java String, word, type and sequence ids and the attention mask, which costs more
 * than the tokenization itself on short texts.
 */
public final class TextTokenizer implements AutoCloseable {
    private final TokenizerSpec spec;
    private final HuggingFaceTokenizer tokenizer;
    private final int specialTokens;
    private final String sha256;
    private final boolean splitsAtWhitespace;
    private final long unknownTokenId;

    TextTokenizer(TokenizerSpec spec, HuggingFaceTokenizer tokenizer, String sha256, boolean splitsAtWhitespace,
                  long unknownTokenId) {
        this.spec = spec;
        this.tokenizer = tokenizer;
        this.sha256 = sha256;
        this.splitsAtWhitespace = splitsAtWhitespace;
        this.unknownTokenId = unknownTokenId;
        this.specialTokens = ids("").length;
    }

    /**
     * The id of the token this tokenizer.json's model puts for what its vocabulary cannot spell ({@code [UNK]} for
     * WordPiece, {@code <unk>} for many Unigram and BPE models), or -1 when it has none: byte-level BPE such as
     * cl100k spells any text with its 256 byte tokens.
     */
    static long unknownTokenId(JsonNode tokenizerJson) {
        JsonNode model = tokenizerJson.path("model");
        if (model.path("unk_id").isIntegralNumber()) { // Unigram: an index into its vocabulary list
            return model.path("unk_id").asLong();
        }
        JsonNode unk = model.path("unk_token");
        if (!unk.isTextual() || model.path("byte_fallback").asBoolean(false)) {
            return -1; // byte fallback spells unknown characters as bytes: the unknown token is never produced
        }
        JsonNode id = model.path("vocab").path(unk.textValue());
        if (id.isIntegralNumber()) {
            return id.asLong();
        }
        for (JsonNode added : tokenizerJson.path("added_tokens")) {
            if (unk.textValue().equals(added.path("content").asText())) {
                return added.path("id").asLong();
            }
        }
        return -1;
    }

    /** Whether this tokenizer has an unknown token (see {@link #unknownTokens}). */
    public boolean hasUnknownToken() {
        return unknownTokenId >= 0;
    }

    /** How many of {@code ids} are the unknown token: text the model sees only as "something it cannot read". */
    public int unknownTokens(long[] ids) {
        int n = 0;
        if (unknownTokenId >= 0) {
            for (long id : ids) {
                if (id == unknownTokenId) {
                    n++;
                }
            }
        }
        return n;
    }

    private static final Set<String> WHITESPACE_SPLITTERS = Set.of("BertPreTokenizer", "Whitespace", "WhitespaceSplit");
    private static final Set<String> CHARACTER_NORMALIZERS = Set.of("BertNormalizer", "Lowercase", "NFC", "NFD", "NFKC",
            "NFKD", "StripAccents");

    /**
     * Whether this tokenizer.json tokenizes each whitespace-separated word on its own, whatever surrounds it: a
     * whitespace pre-tokenizer and normalizers that work character by character (BERT's WordPiece, MiniLM's).
     * Byte-level BPE (cl100k) and Metaspace tokenizers fold the space into the next token: not these.
     */
    static boolean splitsAtWhitespace(JsonNode tokenizerJson) {
        JsonNode pre = tokenizerJson.path("pre_tokenizer");
        JsonNode normalizer = tokenizerJson.path("normalizer");
        boolean normalizersLocal = normalizer.isNull() || normalizer.isMissingNode()
                || CHARACTER_NORMALIZERS.contains(normalizer.path("type").asText())
                || normalizer.path("type").asText().equals("Sequence") && allOf(normalizer.path("normalizers"), CHARACTER_NORMALIZERS);
        return normalizersLocal && WHITESPACE_SPLITTERS.contains(pre.path("type").asText());
    }

    private static boolean allOf(JsonNode items, Set<String> types) {
        for (JsonNode item : items) {
            if (!types.contains(item.path("type").asText())) {
                return false;
            }
        }
        return true;
    }

    public TokenizerSpec spec() {
        return spec;
    }

    /** SHA-256 of the tokenizer.json this tokenizer was built from. */
    public String sha256() {
        return sha256;
    }

    /** How many special tokens the model adds around one text ([CLS] and [SEP] for BERT-style models). */
    public int specialTokens() {
        return specialTokens;
    }

    public Encoded encode(String text) {
        long[] ids;
        long[] special;
        CharSpan[] spans;
        long encoding = TokenizersLibrary.LIB.encode(tokenizer.getHandle(), text, true);
        try {
            ids = TokenizersLibrary.LIB.getTokenIds(encoding);
            special = TokenizersLibrary.LIB.getSpecialTokenMask(encoding);
            spans = TokenizersLibrary.LIB.getTokenCharSpans(encoding);
        } finally {
            TokenizersLibrary.LIB.deleteEncoding(encoding);
        }
        int content = 0;
        for (long s : special) {
            if (s == 0) {
                content++;
            }
        }
        int[] starts = new int[content];
        int[] ends = new int[content];
        // DJL reports spans in code points; Java strings index UTF-16 units. They differ only past a
        // supplementary character (emoji, rare CJK), so the mapping is built only for such texts.
        int[] utf16 = text.length() == text.codePointCount(0, text.length()) ? null : utf16Index(text);
        int k = 0;
        int leading = 0;
        for (int i = 0; i < ids.length; i++) {
            if (special[i] == 0) {
                CharSpan span = spans[i];
                int start = span == null ? (k == 0 ? 0 : ends[k - 1]) : toUtf16(utf16, span.getStart());
                starts[k] = start;
                ends[k] = span == null ? start : toUtf16(utf16, span.getEnd());
                k++;
            } else if (k == 0) {
                leading++;
            }
        }
        // Slices keep the specials right only when they all sit around the content, as [CLS] ... [SEP] do.
        boolean contiguous = content == 0 || special[leading + content - 1] == 0;
        return new Encoded(ids, starts, ends, leading, splitsAtWhitespace && contiguous);
    }

    private static int[] utf16Index(String text) {
        int[] index = new int[text.codePointCount(0, text.length()) + 1];
        int cp = 0;
        for (int i = 0; i < text.length(); i += Character.charCount(text.codePointAt(i))) {
            index[cp++] = i;
        }
        index[cp] = text.length();
        return index;
    }

    private static int toUtf16(int[] utf16, int codePoint) {
        return utf16 == null ? codePoint : utf16[Math.min(codePoint, utf16.length - 1)];
    }

    /** Token ids including special tokens, as the model consumes them. */
    public long[] ids(String text) {
        long encoding = TokenizersLibrary.LIB.encode(tokenizer.getHandle(), text, true);
        try {
            return TokenizersLibrary.LIB.getTokenIds(encoding);
        } finally {
            TokenizersLibrary.LIB.deleteEncoding(encoding);
        }
    }

    /** Number of tokens including special tokens. */
    public int count(String text) {
        return ids(text).length;
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
