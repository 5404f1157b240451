package dev.embedpipe.manifest;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.embedpipe.util.Redaction;

import java.io.IOException;
import java.io.InputStream;

/**
 * The one reader and the one writer of {@link Manifest} (Spark's Jackson). Reading is tolerant: fields an earlier
 * release did not write read as null or 0, fields this release does not know are ignored. Writing prints as every
 * release did (Jackson's default pretty printer), leaves out nulls, and redacts secret-looking text.
 */
public final class ManifestJson {
    private static final ObjectMapper JSON = new ObjectMapper()
            .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .setSerializationInclusion(JsonInclude.Include.NON_NULL)
            .enable(SerializationFeature.INDENT_OUTPUT)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    private ManifestJson() {}

    /** @throws IOException when the text is not JSON or not shaped like a manifest (e.g. a number where an object is) */
    public static Manifest read(InputStream in) throws IOException {
        return JSON.readValue(in, Manifest.class);
    }

    /** As {@link #read(InputStream)}. */
    public static Manifest read(String json) throws IOException {
        return JSON.readValue(json, Manifest.class);
    }

    public static String write(Manifest manifest) {
        try {
            return Redaction.redact(JSON.writeValueAsString(manifest)); // paths, headers, messages: no key in the manifest
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write the manifest", e);
        }
    }
}
