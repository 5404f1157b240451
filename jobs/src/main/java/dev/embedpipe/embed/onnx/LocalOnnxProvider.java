package dev.embedpipe.embed.onnx;

import dev.embedpipe.config.EmbedpipeConfig;
import dev.embedpipe.embed.Embedder;
import dev.embedpipe.embed.EmbedderProvider;
import dev.embedpipe.embed.ModelInfo;
import dev.embedpipe.tokenize.TokenizerSpec;

/**
 * {@code local-onnx}: all-MiniLM-L6-v2 on ONNX Runtime, bundled (from langchain4j's model artifact), so a run
 * needs no network and no key. {@code embedder.model_path}/{@code tokenizer_path} may point at another ONNX export
 * of the same model (a quantised one, say): 384 dimensions, BERT inputs, a last_hidden_state output.
 */
public final class LocalOnnxProvider implements EmbedderProvider {
    public static final String NAME = "local-onnx";
    public static final String BUNDLED_MODEL = TokenizerSpec.CLASSPATH + "/all-minilm-l6-v2.onnx";
    public static final String BUNDLED_TOKENIZER = TokenizerSpec.CLASSPATH + "/all-minilm-l6-v2-tokenizer.json";
    public static final String BUNDLED_MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2";
    /** sentence-transformers' max_seq_length for all-MiniLM-L6-v2; longer inputs it would truncate. */
    public static final int MAX_INPUT_TOKENS = 256;
    public static final int DIMENSIONS = 384;
    private static final java.util.Set<OnnxSessions.Key> WARMING = java.util.concurrent.ConcurrentHashMap.newKeySet();

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public int maxInputTokens(EmbedpipeConfig config) {
        return MAX_INPUT_TOKENS;
    }

    @Override
    public ModelInfo modelInfo(EmbedpipeConfig whole) {
        EmbedpipeConfig.Embedder config = whole.embedder();
        boolean bundled = config.modelPath().isBlank();
        String model = bundled ? BUNDLED_MODEL_NAME : config.modelPath();
        String tokenizerLocation = config.tokenizerPath().isBlank() ? BUNDLED_TOKENIZER : config.tokenizerPath();
        String tokenizerName = config.tokenizerPath().isBlank() ? BUNDLED_MODEL_NAME : config.tokenizerPath();
        String modelLocation = bundled ? BUNDLED_MODEL : config.modelPath();
        return new ModelInfo(NAME, model, DIMENSIONS, new TokenizerSpec(tokenizerName, tokenizerLocation), MAX_INPUT_TOKENS,
                modelLocation);
    }

    /** The session takes a second or more to build: start it while the executor is still chunking. */
    @Override
    public void warmUp(EmbedpipeConfig config) {
        ModelInfo info = modelInfo(config);
        if (!WARMING.add(new OnnxSessions.Key(info.modelLocation(), config.embedder().threadsPerTask()))) {
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
        return OnnxSessions.get(new OnnxSessions.Key(info.modelLocation(), config.embedder().threadsPerTask()), info);
    }
}
