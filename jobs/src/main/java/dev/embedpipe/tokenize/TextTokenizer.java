package dev.embedpipe.tokenize;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.huggingface.tokenizers.jni.CharSpan;

/**
 * A Hugging Face tokenizer with truncation and padding switched off (chunking must see every token) and special
 * tokens added (they count toward the model's limit). Thread-safe: the native tokenizer is immutable.
 */
public final class TextTokenizer implements AutoCloseable {
    private final TokenizerSpec spec;
    private final HuggingFaceTokenizer tokenizer;
    private final int specialTokens;
    private final String sha256;

    TextTokenizer(TokenizerSpec spec, HuggingFaceTokenizer tokenizer, String sha256) {
        this.spec = spec;
        this.tokenizer = tokenizer;
        this.sha256 = sha256;
        this.specialTokens = tokenizer.encode("", true, false).getIds().length;
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
        Encoding encoding = tokenizer.encode(text, true, false);
        long[] ids = encoding.getIds();
        long[] special = encoding.getSpecialTokenMask();
        CharSpan[] spans = encoding.getCharTokenSpans();
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
        for (int i = 0; i < ids.length; i++) {
            if (special[i] == 0) {
                CharSpan span = spans[i];
                int start = span == null ? (k == 0 ? 0 : ends[k - 1]) : toUtf16(utf16, span.getStart());
                starts[k] = start;
                ends[k] = span == null ? start : toUtf16(utf16, span.getEnd());
                k++;
            }
        }
        return new Encoded(ids, starts, ends);
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
        return tokenizer.encode(text, true, false).getIds();
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
