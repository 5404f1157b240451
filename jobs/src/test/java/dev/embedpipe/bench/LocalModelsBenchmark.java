package dev.embedpipe.bench;

import dev.embedpipe.chunk.Chunk;
import dev.embedpipe.chunk.Chunker;
import dev.embedpipe.config.ConfigLoader;
import dev.embedpipe.config.EmbedpipeConfig;
import dev.embedpipe.embed.Embedder;
import dev.embedpipe.embed.EmbedderRegistry;
import dev.embedpipe.embed.ModelInfo;
import dev.embedpipe.embed.onnx.ModelCatalog;
import dev.embedpipe.read.Document;
import dev.embedpipe.tokenize.TextTokenizer;
import dev.embedpipe.tokenize.Tokenizers;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Every catalog model on the same gsm8k texts in one JVM: texts/s and tokens/s of the in-process embedder (one
 * session, {@code threads_per_task} intra-op threads, the chunker's ids, batches of {@code embedder.batch_size};
 * a discarded warm-up first), and for each int8 model its agreement with its fp32 model: cosine per text (mean,
 * minimum) and the mean overlap of the top 10 search results over 100 fixed queries (gsm8k train questions, with
 * the query prompt). Usage: LocalModelsBenchmark [docs] [threads].
 */
public final class LocalModelsBenchmark {
    public static void main(String[] args) throws Exception {
        int docs = args.length > 0 ? Integer.parseInt(args[0]) : 600;
        int threads = args.length > 1 ? Integer.parseInt(args[1]) : 2;
        List<String> texts = field(BenchCorpus.gsm8kTest(), docs);
        List<String> queries = field(BenchCorpus.gsm8kTrain(), 100);
        Map<String, float[][]> docVectors = new HashMap<>();
        Map<String, float[][]> queryVectors = new HashMap<>();
        System.out.println("| model | texts/s | tokens/s | int8: cosine to fp32 mean / min | int8: overlap@10 |");
        for (ModelCatalog entry : ModelCatalog.all()) {
            EmbedpipeConfig config = ConfigLoader.defaultsWith(Map.of("embedder.model", entry.name(),
                    "embedder.threads_per_task", threads));
            ModelInfo info = EmbedderRegistry.get("local-onnx").modelInfo(config);
            TextTokenizer tokenizer = Tokenizers.get(info.tokenizer());
            Chunker chunker = new Chunker(tokenizer, info.maxInputTokens(), 0, info.documentText(""));
            List<Embedder.EmbeddingInput> inputs = new ArrayList<>();
            long tokens = 0;
            for (String text : texts) {
                Chunk chunk = chunker.chunk(new Document("d", text, "{}", 0, "f", 0, 0, 1, null)).get(0);
                inputs.add(new Embedder.EmbeddingInput(chunk.text(), chunk.tokenIds(), chunk.tokenCount()));
                tokens += chunk.tokenCount();
            }
            Embedder embedder = EmbedderRegistry.get("local-onnx").embedder(config);
            Embedder.Session session = embedder.openSession(config, 1);
            int batch = embedder.shape(config, 1).maxInputs();
            embed(session, inputs.subList(0, Math.min(64, inputs.size())), batch); // warm-up, discarded
            long t0 = System.nanoTime();
            float[][] vectors = embed(session, inputs, batch);
            double seconds = (System.nanoTime() - t0) / 1e9;
            docVectors.put(entry.name(), vectors);
            List<Embedder.EmbeddingInput> asked = new ArrayList<>();
            for (String q : queries) {
                long[] ids = tokenizer.ids(info.queryText(q));
                asked.add(new Embedder.EmbeddingInput(q, ids, ids.length));
            }
            queryVectors.put(entry.name(), embed(session, asked, batch));
            String agreement = " | | ";
            if (entry.name().endsWith("-int8")) {
                String fp32 = entry.name().substring(0, entry.name().length() - "-int8".length());
                double sum = 0;
                double min = 1;
                for (int i = 0; i < vectors.length; i++) {
                    double c = dot(vectors[i], docVectors.get(fp32)[i]);
                    sum += c;
                    min = Math.min(min, c);
                }
                double overlap = 0;
                for (int q = 0; q < queries.size(); q++) {
                    Set<Integer> a = top10(queryVectors.get(fp32)[q], docVectors.get(fp32));
                    a.retainAll(top10(queryVectors.get(entry.name())[q], vectors));
                    overlap += a.size() / 10.0;
                }
                agreement = String.format(" | %.4f / %.4f | %.3f", sum / vectors.length, min, overlap / queries.size());
            }
            System.out.printf("| %s | %.1f | %.0f%s |%n", entry.name(), texts.size() / seconds, tokens / seconds, agreement);
        }
    }

    private static float[][] embed(Embedder.Session session, List<Embedder.EmbeddingInput> inputs, int batch) {
        float[][] out = new float[inputs.size()][];
        for (int from = 0; from < inputs.size(); from += batch) {
            float[][] v = session.embed(inputs.subList(from, Math.min(from + batch, inputs.size()))).vectors();
            System.arraycopy(v, 0, out, from, v.length);
        }
        return out;
    }

    private static Set<Integer> top10(float[] query, float[][] docs) {
        Integer[] order = new Integer[docs.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        java.util.Arrays.sort(order, (x, y) -> Double.compare(dot(query, docs[y]), dot(query, docs[x])));
        return new HashSet<>(List.of(order).subList(0, 10));
    }

    private static double dot(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += (double) a[i] * b[i];
        }
        return s;
    }

    private static List<String> field(Path jsonl, int n) throws Exception {
        List<String> out = new ArrayList<>();
        for (String line : Files.readAllLines(jsonl)) {
            if (out.size() == n) {
                break;
            }
            out.add(BenchRows.JSON.readTree(line).get("text").asText());
        }
        return out;
    }
}
