package dev.embedpipe.embed;

import dev.embedpipe.tokenize.TokenizerSpec;

import java.io.Serializable;

/**
 * What a run records about its model in every row and in the manifest, and what chunking needs from it.
 *
 * @param maxInputTokens the most tokens (special tokens included) the model embeds without truncating
 * @param modelLocation  where local model weights are read from (hashed into the manifest), null for remote models
 */
public record ModelInfo(String provider, String model, int dimensions, TokenizerSpec tokenizer, int maxInputTokens,
                        String modelLocation)
        implements Serializable {}
