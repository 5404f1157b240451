package dev.embedpipe.embed.remote;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.embedpipe.config.EmbedpipeConfig;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.util.List;

/**
 * OpenAI {@code POST {base_url}/embeddings} and every server that speaks it (Azure OpenAI deployments with
 * {@code api-version} and the {@code api-key} header, vLLM, Ollama, text-embeddings-inference's OpenAI route).
 * Answers are re-aligned by their {@code index}; base64 vectors (little-endian float32) are decoded here, straight
 * from the JSON stream.
 */
public final class OpenAiWireFormat implements WireFormat {
    @Override
    public URI endpoint(EmbedpipeConfig.Embedder c) {
        String query = c.apiVersion().isBlank() ? "" : "?api-version=" + java.net.URLEncoder.encode(c.apiVersion(), java.nio.charset.StandardCharsets.UTF_8);
        return WireFormat.join(c.baseUrl(), "/embeddings" + query);
    }

    @Override
    public byte[] body(EmbedpipeConfig.Embedder c, List<String> texts) {
        ObjectNode body = JSON.createObjectNode();
        ArrayNode input = body.putArray("input");
        texts.forEach(input::add);
        body.put("model", c.model());
        if (c.dimensions() != null) {
            body.put("dimensions", c.dimensions());
        }
        body.put("encoding_format", c.encodingFormat());
        return WireFormat.bytes(body);
    }

    @Override
    public String[] authHeader(EmbedpipeConfig.Embedder c, String apiKey) {
        if (apiKey == null || apiKey.isEmpty()) {
            return null;
        }
        return c.apiVersion().isBlank() ? new String[] {"Authorization", "Bearer " + apiKey} : new String[] {"api-key", apiKey};
    }

    @Override
    public float[][] parse(InputStream body, int inputs, Integer dimensions) throws IOException, BadResponseException {
        float[][] vectors = JsonVectors.read(body, p -> {
            if (p.currentToken() != JsonToken.START_OBJECT) {
                throw new BadResponseException("answer has no data array");
            }
            float[][] data = null;
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                if (p.nextToken() == JsonToken.START_ARRAY && field.equals("data")) {
                    data = data(p, inputs, dimensions);
                } else if (field.equals("data")) {
                    throw new BadResponseException("answer has no data array");
                } else {
                    p.skipChildren();
                }
            }
            if (data == null) {
                throw new BadResponseException("answer has no data array");
            }
            return data;
        });
        return WireFormat.checked(vectors, dimensions);
    }

    /** The data array's items, placed by their index. */
    private static float[][] data(JsonParser p, int inputs, Integer dimensions) throws IOException, BadResponseException {
        float[][] vectors = new float[inputs][];
        int items = 0;
        for (JsonToken t = p.nextToken(); t != JsonToken.END_ARRAY; t = p.nextToken()) {
            if (++items > inputs) {
                throw new BadResponseException("answer has more than " + inputs + " embeddings for " + inputs + " inputs");
            }
            if (t != JsonToken.START_OBJECT) {
                throw new BadResponseException("answer item has a missing or out-of-range index");
            }
            int index = -1;
            float[] vector = null;
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                JsonToken value = p.nextToken();
                if (field.equals("index") && value == JsonToken.VALUE_NUMBER_INT && p.getNumberType() == JsonParser.NumberType.INT) {
                    index = p.getIntValue();
                } else if (field.equals("embedding")) {
                    vector = value == JsonToken.VALUE_STRING ? JsonVectors.base64(p.getText(), items - 1)
                            : JsonVectors.floats(p, items - 1, dimensions);
                } else {
                    p.skipChildren();
                }
            }
            if (index < 0 || index >= inputs) {
                throw new BadResponseException("answer item has a missing or out-of-range index");
            }
            if (vectors[index] != null) {
                throw new BadResponseException("answer repeats index " + index);
            }
            if (vector == null) {
                throw new BadResponseException("embedding " + index + " is not an array");
            }
            vectors[index] = vector;
        }
        if (items != inputs) {
            throw new BadResponseException("answer has " + items + " embeddings for " + inputs + " inputs");
        }
        return vectors;
    }
}
