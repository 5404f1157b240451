package dev.embedpipe.embed.remote;

import dev.embedpipe.tokenize.TokenizerSpec;

/**
 * {@code openai}: OpenAI's embeddings API and OpenAI-compatible servers by {@code embedder.base_url}. Tokens are
 * counted with cl100k_base, the tokenizer of text-embedding-3-* and ada-002 (set {@code embedder.tokenizer_path}
 * for a compatible server that serves another model).
 */
public final class OpenAiProvider extends RemoteProvider {
    public static final String NAME = "openai";
    public static final TokenizerSpec CL100K = new TokenizerSpec("cl100k_base", TokenizerSpec.CLASSPATH + "/tokenizers/cl100k_base-tokenizer.json");

    @Override
    public String name() {
        return NAME;
    }

    @Override
    WireFormat wire() {
        return new OpenAiWireFormat();
    }

    @Override
    String defaultBaseUrl() {
        return "https://api.openai.com/v1";
    }

    @Override
    String defaultModel() {
        return "text-embedding-3-small";
    }

    @Override
    String defaultKeyEnv() {
        return "OPENAI_API_KEY";
    }

    @Override
    TokenizerSpec defaultTokenizer() {
        return CL100K;
    }

    @Override
    int knownDimensions(String model) {
        return switch (model) {
            case "text-embedding-3-small", "text-embedding-ada-002" -> 1536;
            case "text-embedding-3-large" -> 3072;
            default -> 0;
        };
    }
}
