package dev.embedpipe.embed.onnx;

import dev.embedpipe.config.ConfigException;
import dev.embedpipe.config.EmbedpipeConfig;
import dev.embedpipe.embed.Embedder;
import dev.embedpipe.embed.EmbedderProvider;
import dev.embedpipe.embed.ModelInfo;
import dev.embedpipe.embed.VectorRecipe;
import dev.embedpipe.tokenize.TokenizerSpec;
import dev.embedpipe.util.Hashing;
import dev.embedpipe.util.Locations;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * {@code local-onnx}: a model of the {@link ModelCatalog} ({@code embedder.model}, default all-MiniLM-L6-v2) on ONNX
 * Runtime, so a run needs no network and no key; or {@code embedder.model_path}: a sentence-transformers folder
 * ({@link SentenceTransformersFolder}), or an ONNX file (BERT inputs, a last_hidden_state output) with the default's
 * tokenizer and recipe unless {@code tokenizer_path} and the recipe keys say otherwise.
 * {@code embedder.pooling}, {@code normalize}, {@code document_prompt} and {@code query_prompt} override the
 * model's recipe.
 */
public final class LocalOnnxProvider implements EmbedderProvider {
    public static final String NAME = "local-onnx";
    public static final String BUNDLED_MODEL = TokenizerSpec.CLASSPATH + "/all-minilm-l6-v2.onnx";
    public static final String BUNDLED_TOKENIZER = TokenizerSpec.BUNDLED_MINILM.location();
    /** The default model's name in rows, manifests and cache keys (as before the catalog, so caches stay valid). */
    public static final String BUNDLED_MODEL_NAME = TokenizerSpec.BUNDLED_MINILM.name();
    /** sentence-transformers' max_seq_length for all-MiniLM-L6-v2; longer inputs it would truncate. */
    public static final int MAX_INPUT_TOKENS = 256;
    public static final int DIMENSIONS = 384;
    private static final java.util.Set<OnnxSessions.Key> WARMING = ConcurrentHashMap.newKeySet();
    private static final Map<String, String> WEIGHTS_SHA = new ConcurrentHashMap<>();

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public int maxInputTokens(EmbedpipeConfig config) {
        String path = config.embedder().modelPath();
        return path.isBlank() ? ModelCatalog.named(config.embedder().model()).maxTokens()
                : SentenceTransformersFolder.is(path) ? SentenceTransformersFolder.read(path).maxTokens() : MAX_INPUT_TOKENS;
    }

    @Override
    public ModelInfo modelInfo(EmbedpipeConfig whole) {
        EmbedpipeConfig.Embedder config = whole.embedder();
        if (SentenceTransformersFolder.is(config.modelPath())) {
            SentenceTransformersFolder folder = SentenceTransformersFolder.read(config.modelPath());
            TokenizerSpec tokenizer = config.tokenizerPath().isBlank()
                    ? new TokenizerSpec(folder.tokenizerLocation(), folder.tokenizerLocation())
                    : new TokenizerSpec(config.tokenizerPath(), config.tokenizerPath());
            VectorRecipe recipe = override(folder.recipe(), config);
            return new ModelInfo(NAME, config.modelPath() + "@" + vectorKey(folder.modelLocation(), recipe),
                    folder.dimensions(), tokenizer, folder.maxTokens(), folder.modelLocation(), recipe);
        }
        boolean catalog = config.modelPath().isBlank();
        ModelCatalog entry = catalog ? ModelCatalog.named(config.model()) : ModelCatalog.named(ModelCatalog.DEFAULT);
        String modelLocation = catalog ? entry.modelLocation() : config.modelPath();
        TokenizerSpec tokenizer = config.tokenizerPath().isBlank() ? entry.tokenizerSpec()
                : new TokenizerSpec(config.tokenizerPath(), config.tokenizerPath());
        VectorRecipe recipe = override(entry.recipe(), config);
        String label = catalog ? (entry.isDefault() ? BUNDLED_MODEL_NAME : entry.name()) : config.modelPath();
        boolean asBefore = catalog && entry.isDefault() && recipe.equals(VectorRecipe.MEAN_NORMALIZED)
                && config.tokenizerPath().isBlank();
        String model = asBefore ? BUNDLED_MODEL_NAME : label + "@" + vectorKey(modelLocation, recipe);
        return new ModelInfo(NAME, model, entry.dimensions(), tokenizer, entry.maxTokens(), modelLocation, recipe);
    }

    /** The configuration's {@code embedder.pooling/normalize/*_prompt}, where set, over the model's own recipe. */
    static VectorRecipe override(VectorRecipe own, EmbedpipeConfig.Embedder config) {
        VectorRecipe.Pooling pooling = own.pooling();
        if (config.pooling() != null && !config.pooling().isBlank()) {
            pooling = VectorRecipe.Pooling.byName(config.pooling());
            if (pooling == null) {
                throw new ConfigException("embedder.pooling: '" + config.pooling() + "' is not supported, allowed: mean, cls");
            }
        }
        return new VectorRecipe(pooling, config.normalize() == null ? own.normalize() : config.normalize(),
                config.documentPrompt() == null ? own.documentPrompt() : config.documentPrompt(),
                config.queryPrompt() == null ? own.queryPrompt() : config.queryPrompt());
    }

    /**
     * What defines the stored vectors, in 16 hex digits: the weights' SHA-256, pooling, normalisation and document
     * prompt. It is part of the model name, so the cache (keyed by model name) never hands out a vector made
     * otherwise, and search refuses a table whose name differs.
     */
    static String vectorKey(String modelLocation, VectorRecipe recipe) {
        String weights = WEIGHTS_SHA.computeIfAbsent(modelLocation,
                Locations::sha256Hex);
        String defining = weights + '\u0000' + recipe.pooling().configName() + '\u0000' + recipe.normalize()
                + '\u0000' + recipe.documentPrompt();
        return Hashing.sha256Hex(defining).substring(0, 16);
    }

    /** The session takes a second or more to build: start it while the executor is still chunking. */
    @Override
    public void warmUp(EmbedpipeConfig config) {
        ModelInfo info = modelInfo(config);
        if (!WARMING.add(new OnnxSessions.Key(info, config.embedder().threadsPerTask()))) {
            return; // once per JVM and model, not once per partition
        }
        Thread warm = new Thread(() -> {
            try {
                embedder(config);
            } catch (RuntimeException e) {
                // the embed stage builds it again and reports the failure there
            }
        }, "embedpipe-onnx-warm-up");
        warm.setDaemon(true);
        warm.start();
    }

    @Override
    public Embedder embedder(EmbedpipeConfig config) {
        ModelInfo info = modelInfo(config);
        return OnnxSessions.get(new OnnxSessions.Key(info, config.embedder().threadsPerTask()));
    }
}
