package dev.embedpipe.embed;

import dev.embedpipe.config.ConfigLoader;
import dev.embedpipe.config.EmbedpipeConfig;
import dev.embedpipe.embed.onnx.OnnxSessions;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The local model must reproduce sentence-transformers' all-MiniLM-L6-v2 (reference values from its model card). */
class LocalOnnxEmbedderTest {
    private static final EmbedpipeConfig CONFIG = ConfigLoader.defaultsWith(Map.of());

    private static Embedder embedder() {
        return EmbedderRegistry.get("local-onnx").embedder(CONFIG);
    }

    private static float[] embed(String text) {
        return embedder().openSession(CONFIG, 1).embed(List.of(new Embedder.EmbeddingInput(text, null, 0))).vectors()[0];
    }

    @Test
    void reproducesSentenceTransformersReferenceVector() {
        float[] v = embed("This is an example sentence");
        assertEquals(384, v.length);
        float[] expectedStart = {0.067657f, 0.063496f, 0.048713f, 0.079305f, 0.037448f};
        for (int i = 0; i < expectedStart.length; i++) {
            assertEquals(expectedStart[i], v[i], 1e-5, "component " + i);
        }
    }

    @Test
    void reproducesSentenceTransformersReferenceSimilarity() {
        float[] a = embed("A man is eating food.");
        float[] b = embed("A man is eating a piece of bread.");
        assertEquals(0.7553, dot(a, b), 1e-3);
        assertEquals(1.0, dot(a, a), 1e-5);
    }

    @Test
    void batchedAndSingleResultsAgreeDespitePadding() {
        List<String> texts = List.of("short", "A considerably longer sentence that needs many more tokens than the first one.",
                "数学は楽しい 🎉", "");
        List<Embedder.EmbeddingInput> inputs = texts.stream().map(t -> new Embedder.EmbeddingInput(t, null, 0)).toList();
        float[][] batched = embedder().openSession(CONFIG, 1).embed(inputs).vectors();
        for (int i = 0; i < texts.size(); i++) {
            assertArrayEquals(embed(texts.get(i)), batched[i], 1e-5f, "text " + i);
        }
    }

    @Test
    void oneSessionPerJvmWhateverTheNumberOfCallers() throws Exception {
        int before = OnnxSessions.createdInThisJvm(); // other tests in this JVM may have made sessions of other models
        Embedder first = embedder();
        Thread[] threads = new Thread[4];
        Embedder[] seen = new Embedder[threads.length];
        for (int i = 0; i < threads.length; i++) {
            int k = i;
            threads[i] = new Thread(() -> seen[k] = embedder());
            threads[i].start();
        }
        for (Thread t : threads) {
            t.join();
        }
        for (Embedder e : seen) {
            assertSame(first, e);
        }
        assertTrue(OnnxSessions.createdInThisJvm() - before <= 1, "at most the first caller created a session");
    }

    private static double dot(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += a[i] * b[i];
        }
        return s;
    }
}
