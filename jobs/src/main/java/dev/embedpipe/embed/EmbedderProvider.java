package dev.embedpipe.embed;

import dev.embedpipe.config.EmbedpipeConfig;

/**
 * A named embedding provider, found through {@link java.util.ServiceLoader} ({@code META-INF/services}).
 * Only {@link #embedder} may do heavy work, and it does it once per JVM.
 */
public interface EmbedderProvider {
    /** The name users put in {@code embedder.provider}. */
    String name();

    /** The model's per-input token limit, checked against {@code chunk.max_tokens} before Spark starts. */
    int maxInputTokens(EmbedpipeConfig config);

    /** Provider-specific checks; throw {@link dev.embedpipe.config.ConfigException} naming the key. */
    default void validate(EmbedpipeConfig config) {}

    /** Cheap: the model description, without loading the model. */
    ModelInfo modelInfo(EmbedpipeConfig config);

    /** The JVM's shared embedder for this configuration, created on first use. */
    Embedder embedder(EmbedpipeConfig config);

    /**
     * Starts building what the embedder needs that is slow to build (a local model's session) in the background,
     * where chunking begins, so it is ready when the embed stage starts. Failures surface in the embed stage.
     */
    default void warmUp(EmbedpipeConfig config) {}

    /** Whether single chunks can fail (remote APIs) and so need an errors table; local models fail whole tasks. */
    default boolean failsPerItem() {
        return false;
    }
}
