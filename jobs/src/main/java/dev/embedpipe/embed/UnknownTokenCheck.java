package dev.embedpipe.embed;

import dev.embedpipe.chunk.Chunk;
import dev.embedpipe.config.EmbedpipeConfig;
import dev.embedpipe.tokenize.TextTokenizer;
import dev.embedpipe.tokenize.TokenizerSpec;
import dev.embedpipe.tokenize.Tokenizers;

import java.io.Serializable;
import java.util.Locale;

/**
 * Keeps text the model cannot read from being embedded as if it could: a chunk whose share of the tokenizer's
 * unknown token (unknown tokens over non-special tokens) is over {@code quality.max_unknown_token_ratio} gets an
 * {@code unknown_tokens} error instead of a vector. A 20,000-character hex string is one word to BERT's WordPiece,
 * longer than it spells, so the model would see {@code [CLS] [UNK] [SEP]}: the vector of nothing in particular.
 * Tokenizers without an unknown token (byte-level BPE such as OpenAI's cl100k) spell any text, so it never applies
 * to them. Built on the driver, used in tasks; the tokenizer is the JVM's shared one.
 */
public final class UnknownTokenCheck implements Serializable {
    public static final String ERROR_CLASS = "unknown_tokens";

    private final TokenizerSpec tokenizer;
    private final double maxRatio;

    private UnknownTokenCheck(TokenizerSpec tokenizer, double maxRatio) {
        this.tokenizer = tokenizer;
        this.maxRatio = maxRatio;
    }

    /** The check for this run's provider tokenizer, or null when {@code quality.max_unknown_token_ratio} is off. */
    public static UnknownTokenCheck of(EmbedpipeConfig config, ModelInfo model) {
        Double max = config.quality().maxUnknownTokenRatio();
        return max == null ? null : new UnknownTokenCheck(model.tokenizer(), max);
    }

    /** Why this chunk is not to be embedded, or null when the model can read it. */
    public Embedder.EmbeddingError refusal(Chunk chunk) {
        TextTokenizer t = Tokenizers.get(tokenizer);
        if (!t.hasUnknownToken()) {
            return null;
        }
        int content = chunk.tokenCount() - t.specialTokens();
        if (content <= 0) {
            return null;
        }
        int unknown = chunk.unknownTokens() >= 0 ? chunk.unknownTokens()
                : t.unknownTokens(chunk.tokenIds() != null ? chunk.tokenIds() : t.ids(chunk.text()));
        double ratio = (double) unknown / content;
        if (ratio <= maxRatio) {
            return null;
        }
        return new Embedder.EmbeddingError(ERROR_CLASS, 0, 0, null, false, String.format(Locale.ROOT,
                "not embedded: %d of %d tokens are the tokenizer's unknown token (%.2f, over quality.max_unknown_token_ratio %s),"
                        + " text the model cannot read", unknown, content, ratio, maxRatio));
    }
}
