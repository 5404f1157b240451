package dev.embedpipe.embed.remote;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.embedpipe.config.EmbedpipeConfig;

import java.net.URI;
import java.util.List;

/**
 * Hugging Face text-embeddings-inference's native {@code POST {base_url}/embed}: {@code {"inputs": [...]}} in, a
 * bare array of vectors (in input order, no index) out. A different shape from OpenAI's on purpose: providers
 * differ only here.
 */
public final class TeiWireFormat implements WireFormat {
    @Override
    public URI endpoint(EmbedpipeConfig.Embedder c) {
        return WireFormat.join(c.baseUrl(), "/embed");
    }

    @Override
    public byte[] body(EmbedpipeConfig.Embedder c, List<String> texts) {
        ObjectNode body = JSON.createObjectNode();
        ArrayNode input = body.putArray("inputs");
        texts.forEach(input::add);
        body.put("normalize", true);
        body.put("truncate", false); // a chunk the model would cut is an error, never silently shortened
        return WireFormat.bytes(body);
    }

    @Override
    public String[] authHeader(EmbedpipeConfig.Embedder c, String apiKey) {
        return apiKey == null || apiKey.isEmpty() ? null : new String[] {"Authorization", "Bearer " + apiKey};
    }

    @Override
    public float[][] parse(byte[] body, int inputs, Integer dimensions) throws BadResponseException {
        JsonNode root = WireFormat.tree(body);
        if (!root.isArray()) {
            throw new BadResponseException("answer is not an array of vectors");
        }
        if (root.size() != inputs) {
            throw new BadResponseException("answer has " + root.size() + " embeddings for " + inputs + " inputs");
        }
        float[][] vectors = new float[inputs][];
        for (int i = 0; i < inputs; i++) {
            vectors[i] = WireFormat.floats(root.get(i), i);
        }
        return WireFormat.checked(vectors, dimensions);
    }
}
