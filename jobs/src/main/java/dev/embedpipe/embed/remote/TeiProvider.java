package dev.embedpipe.embed.remote;

import dev.embedpipe.tokenize.TokenizerSpec;

/**
 * {@code tei}: Hugging Face text-embeddings-inference's native {@code /embed} route. Tokens are counted with the
 * bundled all-MiniLM-L6-v2 tokenizer unless {@code embedder.tokenizer_path} names the served model's
 * tokenizer.json; set {@code limits.max_input_tokens} to the served model's limit.
 */
public final class TeiProvider extends RemoteProvider {
    public static final String NAME = "tei";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    WireFormat wire() {
        return new TeiWireFormat();
    }

    @Override
    String defaultBaseUrl() {
        return "";
    }

    @Override
    String defaultModel() {
        return "text-embeddings-inference";
    }

    @Override
    String defaultKeyEnv() {
        return "";
    }

    @Override
    TokenizerSpec defaultTokenizer() {
        return TokenizerSpec.bundledMiniLm(); // the default local model's, from its jar
    }
}
