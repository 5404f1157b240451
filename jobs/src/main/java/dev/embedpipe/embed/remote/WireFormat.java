package dev.embedpipe.embed.remote;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.embedpipe.config.EmbedpipeConfig;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.util.List;

/** One provider's request and response shapes; everything else (limits, retries, accounting) is shared. */
public interface WireFormat {
    ObjectMapper JSON = new ObjectMapper();

    /** The endpoint for this configuration. */
    URI endpoint(EmbedpipeConfig.Embedder config);

    /** The request body for these texts. */
    byte[] body(EmbedpipeConfig.Embedder config, List<String> texts);

    /** The auth header (name, value) for this key, or null for none. */
    String[] authHeader(EmbedpipeConfig.Embedder config, String apiKey);

    /**
     * The vectors of a 2xx answer in input order, checked: one per input (aligned by the answer's index where it
     * has one), all of {@code dimensions} (when known, else all alike), all finite.
     */
    float[][] parse(InputStream body, int inputs, Integer dimensions) throws IOException, BadResponseException;

    /** {@link #parse(InputStream, int, Integer)} over bytes already in memory. */
    default float[][] parse(byte[] body, int inputs, Integer dimensions) throws BadResponseException {
        try {
            return parse(new ByteArrayInputStream(body), inputs, dimensions);
        } catch (IOException e) {
            throw new BadResponseException("unreadable answer"); // a byte array does not fail to read
        }
    }

    /** The header carrying the provider's request id, for the errors table. */
    default String requestIdHeader() {
        return "x-request-id";
    }

    /** {@code base} (with or without a trailing slash) joined with {@code path}. */
    static URI join(String base, String path) {
        return URI.create((base.endsWith("/") ? base.substring(0, base.length() - 1) : base) + path);
    }

    static byte[] bytes(com.fasterxml.jackson.databind.node.ObjectNode body) {
        try {
            return JSON.writeValueAsBytes(body);
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Checks vectors decoded in input order. */
    static float[][] checked(float[][] vectors, Integer dimensions) throws BadResponseException {
        int dims = dimensions != null ? dimensions : vectors.length > 0 && vectors[0] != null ? vectors[0].length : 0;
        for (int i = 0; i < vectors.length; i++) {
            float[] v = vectors[i];
            if (v == null) {
                throw new BadResponseException("no vector for input " + i);
            }
            if (v.length != dims || dims == 0) {
                throw new BadResponseException("vector " + i + " has " + v.length + " dimensions, expected " + dims);
            }
            for (float x : v) {
                if (!Float.isFinite(x)) {
                    throw new BadResponseException("vector " + i + " holds a non-finite value");
                }
            }
        }
        return vectors;
    }
}
