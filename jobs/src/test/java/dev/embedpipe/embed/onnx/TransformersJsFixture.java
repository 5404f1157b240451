package dev.embedpipe.embed.onnx;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * One model's reference vectors from transformers.js (made by jobs/src/test/js/make-fixtures.mjs): the texts, whether
 * each is a document or a query, its token count as transformers.js counts it (prompt included) and its vector.
 */
public record TransformersJsFixture(String model, List<Input> inputs, float[][] vectors) {

    public record Input(String role, String text, int tokens) {
        public boolean query() {
            return role.equals("query");
        }
    }

    public static TransformersJsFixture of(String model) {
        try (InputStream in = TransformersJsFixture.class.getResourceAsStream("/transformersjs/" + model + ".json")) {
            if (in == null) {
                throw new IllegalStateException("no transformers.js fixture for " + model);
            }
            JsonNode root = new ObjectMapper().readTree(in);
            List<Input> inputs = new ArrayList<>();
            root.get("inputs").forEach(n -> inputs.add(new Input(n.get("role").asText(), n.get("text").asText(), n.get("tokens").asInt())));
            int dims = root.get("dimensions").asInt();
            ByteBuffer bytes = ByteBuffer.wrap(Base64.getDecoder().decode(root.get("vectors_f32le_base64").asText()))
                    .order(ByteOrder.LITTLE_ENDIAN);
            float[][] vectors = new float[inputs.size()][dims];
            for (float[] v : vectors) {
                bytes.asFloatBuffer().get(v);
                bytes.position(bytes.position() + dims * Float.BYTES);
            }
            return new TransformersJsFixture(model, inputs, vectors);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static double cosine(float[] a, float[] b) {
        double dot = 0;
        double na = 0;
        double nb = 0;
        for (int i = 0; i < a.length; i++) {
            dot += (double) a[i] * b[i];
            na += (double) a[i] * a[i];
            nb += (double) b[i] * b[i];
        }
        return dot / Math.sqrt(na * nb);
    }
}
