package dev.embedpipe.embed.remote;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.embedpipe.config.EmbedpipeConfig;

import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Base64;
import java.util.List;

/**
 * OpenAI {@code POST {base_url}/embeddings} and every server that speaks it (Azure OpenAI deployments with
 * {@code api-version} and the {@code api-key} header, vLLM, Ollama, text-embeddings-inference's OpenAI route).
 * Answers are re-aligned by their {@code index}; base64 vectors (little-endian float32) are decoded here.
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
    public float[][] parse(byte[] body, int inputs, Integer dimensions) throws BadResponseException {
        JsonNode data = WireFormat.tree(body).get("data");
        if (data == null || !data.isArray()) {
            throw new BadResponseException("answer has no data array");
        }
        if (data.size() != inputs) {
            throw new BadResponseException("answer has " + data.size() + " embeddings for " + inputs + " inputs");
        }
        float[][] vectors = new float[inputs][];
        for (JsonNode item : data) {
            JsonNode index = item.get("index");
            if (index == null || !index.canConvertToInt() || index.asInt() < 0 || index.asInt() >= inputs) {
                throw new BadResponseException("answer item has a missing or out-of-range index");
            }
            int i = index.asInt();
            if (vectors[i] != null) {
                throw new BadResponseException("answer repeats index " + i);
            }
            JsonNode embedding = item.get("embedding");
            vectors[i] = embedding != null && embedding.isTextual() ? base64(embedding.textValue(), i) : WireFormat.floats(embedding, i);
        }
        return WireFormat.checked(vectors, dimensions);
    }

    private static float[] base64(String encoded, int index) throws BadResponseException {
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
