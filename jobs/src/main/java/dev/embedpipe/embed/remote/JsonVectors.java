package dev.embedpipe.embed.remote;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadFeature;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Base64;

/**
 * Reads answers' vectors from the JSON stream straight into float[]s. A tree would allocate a node per number
 * (786,432 of them for 2048 x 384) and cap decoding at about 20,000 vectors/s per core; streaming reaches several
 * times that (see BENCHMARKS.md, item 8).
 */
final class JsonVectors {
    private static final JsonFactory FACTORY = JsonFactory.builder().enable(StreamReadFeature.USE_FAST_DOUBLE_PARSER).build();

    private JsonVectors() {}

    /** What the answer's JSON holds, pulled token by token; malformed JSON makes the answer bad, never a crash. */
    interface Reader<T> {
        T read(JsonParser p) throws IOException, BadResponseException;
    }

    /**
     * Parses straight from the answer's stream, as it arrives: the raw body is never held in memory. Malformed JSON
     * is a bad answer; a failing stream (deadline, size cap, dropped connection) is an IOException.
     */
    static <T> T read(InputStream body, Reader<T> reader) throws IOException, BadResponseException {
        try (JsonParser p = FACTORY.createParser(body)) {
            if (p.nextToken() == null) {
                throw new BadResponseException("empty answer");
            }
            return reader.read(p);
        } catch (JsonProcessingException e) {
            throw new BadResponseException("malformed JSON answer");
        }
    }

    /** The array of numbers whose START_ARRAY the parser is at, sized for {@code dims} when known. */
    static float[] floats(JsonParser p, int index, Integer dims) throws IOException, BadResponseException {
        if (p.currentToken() != JsonToken.START_ARRAY) {
            throw new BadResponseException("embedding " + index + " is not an array");
        }
        float[] v = new float[dims != null && dims > 0 ? dims : 256];
        int n = 0;
        for (JsonToken t = p.nextToken(); t != JsonToken.END_ARRAY; t = p.nextToken()) {
            if (t != JsonToken.VALUE_NUMBER_FLOAT && t != JsonToken.VALUE_NUMBER_INT) {
                throw new BadResponseException("embedding " + index + " holds a non-number at " + n);
            }
            if (dims != null && n == dims) {
                // stop at once: a server sending endless numbers must not grow this array
                throw new BadResponseException("vector " + index + " has more than " + dims + " dimensions");
            }
            if (n == v.length) {
                v = Arrays.copyOf(v, 2 * n);
            }
            v[n++] = (float) p.getDoubleValue(); // as a tree's DoubleNode gave, and faster than getFloatValue
        }
        return n == v.length ? v : Arrays.copyOf(v, n);
    }

    /** Base64 of little-endian float32s, as OpenAI sends for {@code encoding_format: base64}. */
    static float[] base64(String encoded, int index) throws BadResponseException {
        byte[] bytes;
        try {
            bytes = Base64.getDecoder().decode(encoded);
        } catch (IllegalArgumentException e) {
            throw new BadResponseException("embedding " + index + " is not valid base64");
        }
        if (bytes.length % 4 != 0) {
            throw new BadResponseException("embedding " + index + " is not a whole number of float32 values");
        }
        float[] v = new float[bytes.length / 4];
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(v);
        return v;
    }
}
