package dev.embedpipe.util;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;

/**
 * Reads the bytes at a location a config or catalog names (model weights, tokenizer.json): a {@code classpath:/...}
 * resource, a {@code jar:file:...!/...} entry or a local file. Shared by tokenizers and model providers.
 */
public final class Locations {
    public static final String CLASSPATH = "classpath:";

    private Locations() {}

    public static byte[] readBytes(String location) {
        try {
            if (location.startsWith("jar:")) {
                try (InputStream in = java.net.URI.create(location).toURL().openStream()) {
                    return in.readAllBytes();
                }
            }
            if (location.startsWith(CLASSPATH)) {
                String resource = location.substring(CLASSPATH.length());
                InputStream found = Locations.class.getResourceAsStream(resource);
                ClassLoader context = Thread.currentThread().getContextClassLoader();
                if (found == null && context != null) {
                    found = context.getResourceAsStream(resource.substring(1)); // jars added by Spark at run time
                }
                try (InputStream in = found) {
                    if (in == null) {
                        throw new IOException("resource " + resource + " is not on the classpath");
                    }
                    return in.readAllBytes();
                }
            }
            return Files.readAllBytes(Path.of(location));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + location, e);
        }
    }

    /**
     * Where a model jar's resource is: {@code classpath:/...} when the jar is on the classpath (tests have them all;
     * spark-submit {@code --jars} puts the run's model there), else the entry inside
     * {@code <embedpipe.home>/jobs/target/models/<jar>} (the launcher's local runs), else null.
     */
    public static String inModelJar(String jar, String path) {
        if (Locations.class.getResource(path) != null) {
            return CLASSPATH + path;
        }
        ClassLoader context = Thread.currentThread().getContextClassLoader();
        if (context != null && context.getResource(path) != null) {
            return CLASSPATH + path;
        }
        java.io.File file = modelJar(jar);
        return file.isFile() ? "jar:" + file.getAbsoluteFile().toURI() + "!" + path : null;
    }

    /** {@code <embedpipe.home>/jobs/target/models/<jar>}: where the build puts the model jars, apart from the libraries. */
    public static java.io.File modelJar(String jar) {
        return new java.io.File(System.getProperty("embedpipe.home", "."), MODELS_DIR + "/" + jar);
    }

    public static final String MODELS_DIR = "jobs/target/models";

    /** The SHA-256 of the bytes at {@code location}, in hex (how manifests record model and tokenizer files). */
    public static String sha256Hex(String location) {
        return HexFormat.of().formatHex(Hashing.sha256().digest(readBytes(location)));
    }
}
