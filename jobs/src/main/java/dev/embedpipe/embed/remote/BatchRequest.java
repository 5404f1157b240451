package dev.embedpipe.embed.remote;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.embedpipe.config.EmbedpipeConfig;

import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * One line of a batch input file: a {@code POST /v1/embeddings} request with a short {@code custom_id}, the content
 * hashes of its inputs in order (what the journal records to match answers), and its tokens (for the queue cap and
 * the budget).
 */
public record BatchRequest(String customId, List<String> contentHashes, long tokens, byte[] line) implements Serializable {
    /** The request line for these texts, built with the live path's own body so both modes send the same request. */
    public static BatchRequest of(String customId, List<String> contentHashes, List<String> texts, long tokens,
                                  EmbedpipeConfig.Embedder embedder) {
        ObjectNode head = BatchApi.JSON.createObjectNode();
        head.put("custom_id", customId);
        head.put("method", "POST");
        head.put("url", "/v1/embeddings");
        String prefix = head.toString();
        byte[] body = new OpenAiWireFormat().body(embedder, texts);
        byte[] start = (prefix.substring(0, prefix.length() - 1) + ",\"body\":").getBytes(StandardCharsets.UTF_8);
        byte[] line = new byte[start.length + body.length + 2];
        System.arraycopy(start, 0, line, 0, start.length);
        System.arraycopy(body, 0, line, start.length, body.length);
        line[line.length - 2] = '}';
        line[line.length - 1] = '\n';
        return new BatchRequest(customId, contentHashes, tokens, line);
    }
}
