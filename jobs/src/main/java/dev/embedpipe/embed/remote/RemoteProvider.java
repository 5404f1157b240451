package dev.embedpipe.embed.remote;

import dev.embedpipe.config.ConfigException;
import dev.embedpipe.config.EmbedpipeConfig;
import dev.embedpipe.embed.Embedder;
import dev.embedpipe.embed.EmbedderProvider;
import dev.embedpipe.embed.ModelInfo;
import dev.embedpipe.tokenize.TokenizerSpec;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** What the remote providers share: defaults, validation and one {@link RemoteEmbedder} per configuration per JVM. */
abstract class RemoteProvider implements EmbedderProvider {
    private static final Map<List<Object>, RemoteEmbedder> BY_CONFIG = new ConcurrentHashMap<>();

    abstract WireFormat wire();

    abstract String defaultBaseUrl();

    abstract String defaultModel();

    abstract String defaultKeyEnv();

    abstract TokenizerSpec defaultTokenizer();

    /** Vector size the model is known to answer with, or 0 when unknown (learned from the first answer). */
    int knownDimensions(String model) {
        return 0;
    }

    @Override
    public boolean failsPerItem() {
        return true;
    }

    @Override
    public int maxInputTokens(EmbedpipeConfig config) {
        return config.limits().maxInputTokens();
    }

    @Override
    public void validate(EmbedpipeConfig config) {
        String base = baseUrl(config.embedder());
        if (base.isBlank()) {
            throw new ConfigException("embedder.base_url: required for the " + name() + " provider, e.g. http://127.0.0.1:8080");
        }
        if (!base.startsWith("http://") && !base.startsWith("https://")) {
            throw new ConfigException("embedder.base_url: must start with http:// or https://, got '" + base + "'");
        }
        // Runs on the driver for every command before Spark starts: its logs and messages mask the key from here on.
        ApiKey.registerSecrets(config.embedder(), defaultKeyEnv());
    }

    @Override
    public ModelInfo modelInfo(EmbedpipeConfig config) {
        EmbedpipeConfig.Embedder e = config.embedder();
        String model = model(e);
        int dims = e.dimensions() != null ? e.dimensions() : knownDimensions(model);
        TokenizerSpec tokenizer = e.tokenizerPath().isBlank() ? defaultTokenizer() : new TokenizerSpec(e.tokenizerPath(), e.tokenizerPath());
        return new ModelInfo(name(), model, dims, tokenizer, config.limits().maxInputTokens(), null);
    }

    @Override
    public Embedder embedder(EmbedpipeConfig config) {
        EmbedpipeConfig resolved = withDefaults(config);
        return BY_CONFIG.computeIfAbsent(List.of(name(), resolved.embedder(), resolved.limits().requestTimeoutS()),
                k -> new RemoteEmbedder(modelInfo(resolved), wire(), defaultKeyEnv(), resolved));
    }

    /** The configuration with this provider's defaults filled in (base URL, model). */
    public EmbedpipeConfig resolved(EmbedpipeConfig c) {
        return withDefaults(c);
    }

    /** The configuration with this provider's defaults filled in (base URL, model). */
    EmbedpipeConfig withDefaults(EmbedpipeConfig c) {
        EmbedpipeConfig.Embedder e = c.embedder();
        EmbedpipeConfig.Embedder filled = new EmbedpipeConfig.Embedder(e.provider(), e.batchSize(), e.threadsPerTask(),
                e.modelPath(), e.tokenizerPath(), baseUrl(e), model(e), e.dimensions(), e.encodingFormat(), e.apiVersion(),
                e.apiKeyEnv(), e.apiKeyFile(), e.headers(), e.mode(),
                e.pooling(), e.normalize(), e.documentPrompt(), e.queryPrompt());
        return new EmbedpipeConfig(c.input(), c.output(), c.spark(), c.clean(), c.chunk(), c.quality(), filled, c.limits(), c.cost(),
                c.cache(), c.budget(), c.progress());
    }

    private String baseUrl(EmbedpipeConfig.Embedder e) {
        return e.baseUrl().isBlank() ? defaultBaseUrl() : e.baseUrl();
    }

    private String model(EmbedpipeConfig.Embedder e) {
        return e.model().isBlank() ? defaultModel() : e.model();
    }
}
