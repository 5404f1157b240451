package dev.embedpipe.embed;

import dev.embedpipe.tokenize.TokenizerSpec;

import java.io.Serializable;

/**
 * What a run records about its model in every row and in the manifest, and what chunking needs from it.
 *
 * @param maxInputTokens the most tokens (special tokens included) the model embeds without truncating
 * @param modelLocation  where local model weights are read from (hashed into the manifest), null for remote models
 * @param recipe         how a local model turns hidden states into vectors; null for remote models
 */
public record ModelInfo(String provider, String model, int dimensions, TokenizerSpec tokenizer, int maxInputTokens,
                        String modelLocation, VectorRecipe recipe)
        implements Serializable {

    public ModelInfo(String provider, String model, int dimensions, TokenizerSpec tokenizer, int maxInputTokens,
                     String modelLocation) {
        this(provider, model, dimensions, tokenizer, maxInputTokens, modelLocation, null);
    }

    /** The text the model sees for a document chunk: the document prompt, if any, then the chunk. */
    public String documentText(String chunk) {
        return recipe == null ? chunk : recipe.documentPrompt() + chunk;
    }

    /** The text the model sees for a search query. */
    public String queryText(String query) {
        return recipe == null ? query : recipe.queryPrompt() + query;
    }
}
