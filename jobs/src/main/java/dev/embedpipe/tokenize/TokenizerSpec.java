package dev.embedpipe.tokenize;

import dev.embedpipe.util.Locations;

import java.io.Serializable;

/**
 * Which tokenizer to load: a name for manifests and output rows, and where its {@code tokenizer.json} is
 * ({@code classpath:/...} for a bundled one, otherwise a local file path).
 */
public record TokenizerSpec(String name, String location) implements Serializable {
    public static final String CLASSPATH = Locations.CLASSPATH;
}
