package dev.embedpipe.cli;

import dev.embedpipe.clean.CleanStep;
import dev.embedpipe.config.ConfigException;
import dev.embedpipe.config.EmbedpipeConfig;
import dev.embedpipe.embed.EmbedderProvider;
import dev.embedpipe.embed.EmbedderRegistry;

/**
 * The checks of a loaded configuration that need a stage: clean step names, the provider's existence, its token
 * limit and its own keys. They live here, not in config, so configuration stays plain data that imports no stage;
 * every command runs them right after loading.
 */
public final class StageChecks {
    private StageChecks() {}

    /** {@code config}, once the stages accept it; throws ConfigException naming the key otherwise. */
    public static EmbedpipeConfig check(EmbedpipeConfig config) {
        for (String step : config.clean().steps()) {
            if (CleanStep.byName(step) == null) {
                throw new ConfigException("clean.steps: unknown step '" + step + "', allowed: " + CleanStep.names());
            }
        }
        EmbedderProvider provider = EmbedderRegistry.find(config.embedder().provider());
        if (provider == null) {
            throw new ConfigException("embedder.provider: unknown provider '" + config.embedder().provider()
                    + "', known: " + EmbedderRegistry.names());
        }
        int modelLimit = provider.maxInputTokens(config);
        int maxTokens = config.chunk().maxTokens();
        if (maxTokens > modelLimit) {
            throw new ConfigException("chunk.max_tokens: must be between 8 and " + modelLimit + " (" + provider.name()
                    + "'s limit is " + modelLimit + "), got " + maxTokens);
        }
        provider.validate(config);
        return config;
    }
}
