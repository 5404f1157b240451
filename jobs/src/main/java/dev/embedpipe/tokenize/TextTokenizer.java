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
        int k = 0;
        for (int i = 0; i < ids.length; i++) {
            if (special[i] == 0) {
                CharSpan span = spans[i];
                starts[k] = span == null ? (k == 0 ? 0 : ends[k - 1]) : span.getStart();
                ends[k] = span == null ? starts[k] : span.getEnd();
                k++;
            }
        }
        return new Encoded(ids, starts, ends);
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
