package dev.embedpipe.embed.remote;

import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.embedpipe.config.EmbedpipeConfig;

import java.io.IOException;
import java.io.InputStream;
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
    public float[][] parse(InputStream body, int inputs, Integer dimensions) throws IOException, BadResponseException {
        float[][] vectors = JsonVectors.read(body, p -> {
            if (p.currentToken() != JsonToken.START_ARRAY) {
                throw new BadResponseException("answer is not an array of vectors");
            }
            float[][] read = new float[inputs][];
            int n = 0;
            for (JsonToken t = p.nextToken(); t != JsonToken.END_ARRAY; t = p.nextToken()) {
                if (n == inputs) {
                    throw new BadResponseException("answer has more than " + inputs + " embeddings for " + inputs + " inputs");
                }
                read[n] = JsonVectors.floats(p, n, dimensions);
                n++;
            }
            if (n != inputs) {
                throw new BadResponseException("answer has " + n + " embeddings for " + inputs + " inputs");
            }
            return read;
        });
        return WireFormat.checked(vectors, dimensions);
    }
}
