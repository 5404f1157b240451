package dev.embedpipe.embed;

import java.io.Serializable;

/**
 * What, besides the weights, defines a local model's vectors: how the last hidden state is pooled, whether the result
 * is L2-normalised, and the prompts put before documents and queries (as sentence-transformers' {@code prompts}).
 */
public record VectorRecipe(Pooling pooling, boolean normalize, String documentPrompt, String queryPrompt)
        implements Serializable {

    /** Today's (and every manifest's without these fields) all-MiniLM-L6-v2 recipe. */
    public static final VectorRecipe MEAN_NORMALIZED = new VectorRecipe(Pooling.MEAN, true, "", "");

    public enum Pooling {
        /** the attention-masked average of the token states */
        MEAN,
        /** the first token's ([CLS]) state */
        CLS;

        public String configName() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }

        public static Pooling byName(String name) {
            for (Pooling p : values()) {
                if (p.configName().equals(name)) {
                    return p;
                }
            }
            return null;
        }
    }
}
