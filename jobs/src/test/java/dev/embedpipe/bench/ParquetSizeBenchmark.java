package dev.embedpipe.bench;

import dev.embedpipe.config.ConfigLoader;
import dev.embedpipe.config.EmbedpipeConfig;
import dev.embedpipe.embed.Embedder;
import dev.embedpipe.embed.EmbedderRegistry;
import dev.embedpipe.tokenize.TextTokenizer;
import dev.embedpipe.tokenize.Tokenizers;
import dev.embedpipe.table.OutputSchemas;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StructType;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Item 7 (a plain runner): Parquet bytes per million 384-d vectors against raw float32 (1,536,000,000 bytes).
 * Real MiniLM vectors (random floats compress differently): WordNet glosses embedded with the bundled model, then
 * written by Spark as the job writes its embedding column (array&lt;float&gt;, the output's codecs). Bytes per
 * million are scaled from the vectors written; row groups and pages make the overhead per vector, so it scales.
 *
 * <p>Run: {@code jobs/bin/bench --only ParquetSize}; {@code --quick} embeds 500 texts instead of 20,000.
 */
public final class ParquetSizeBenchmark {
    static final int DIMS = 384;

    public static void main(String[] args) throws Exception {
        boolean quick = BenchRows.quick(args);
        int n = quick ? 500 : 20_000;
        Corpus corpus = texts(n);
        float[][] vectors = embed(corpus.texts());
        long raw = (long) vectors.length * DIMS * Float.BYTES;
        StructType schema = new StructType().add(OutputSchemas.EMBEDDINGS.apply("embedding"));
        List<Row> rows = new ArrayList<>();
        for (float[] v : vectors) {
            rows.add(RowFactory.create((Object) v));
        }
        List<BenchRow> out = new ArrayList<>();
        Path dir = BenchRows.dir().resolve("parquet-size");
        SparkSession spark = SparkSession.builder().master("local[1]").appName("parquet-size")
                .config("spark.ui.enabled", "false").getOrCreate();
        try {
            for (String codec : List.of("zstd", "snappy", "none")) {
                Path folder = dir.resolve(codec);
                spark.createDataFrame(rows, schema).coalesce(1).write().mode("overwrite")
                        .option("compression", codec.equals("none") ? "uncompressed" : codec).parquet(folder.toString());
                long bytes = parquetBytes(folder);
                double perMillion = bytes * 1e6 / vectors.length;
                out.add(new BenchRow(7, "Parquet bytes per million 384-d MiniLM vectors, " + codec
                        + (codec.equals("zstd") ? " (the job's default)" : ""), perMillion, "bytes", DIMS * 4e6, "bytes (raw float32)",
                        perMillion / (DIMS * 4e6), null, null, String.format("%,d real vectors (%s) written by Spark as array<float>; "
                        + "%,d bytes for %,d raw, scaled to a million", vectors.length, corpus.source(), bytes, raw)));
            }
        } finally {
            spark.stop();
        }
        BenchRows.write(ParquetSizeBenchmark.class.getSimpleName(), out, quick);
    }

    record Corpus(String source, List<String> texts) {}

    /** The first n WordNet glosses (datasets-test/). */
    static Corpus texts(int n) {
        List<String> texts = new ArrayList<>();
        try (Stream<String> lines = Files.lines(BenchCorpus.wordnetGlosses())) {
            for (String line : (Iterable<String>) lines.limit(n)::iterator) {
                texts.add(BenchRows.JSON.readTree(line).get("text").textValue());
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        String source = "WordNet 3.1 glosses";
        return new Corpus(source, texts.subList(0, Math.min(n, texts.size())));
    }

    static float[][] embed(List<String> texts) {
        EmbedpipeConfig config = ConfigLoader.defaultsWith(Map.of("embedder.threads_per_task", Runtime.getRuntime().availableProcessors()));
        Embedder embedder = EmbedderRegistry.get("local-onnx").embedder(config);
        TextTokenizer tokenizer = Tokenizers.get(embedder.model().tokenizer());
        float[][] vectors = new float[texts.size()][];
        try (Embedder.Session session = embedder.openSession(config, 1)) {
            for (int from = 0; from < texts.size(); from += 64) {
                List<Embedder.EmbeddingInput> batch = new ArrayList<>();
                for (String text : texts.subList(from, Math.min(texts.size(), from + 64))) {
                    long[] ids = tokenizer.ids(text);
                    if (ids.length > 256) {
                        ids = tokenizer.ids(text.substring(0, 500)); // a rare long gloss: its start is as real a vector
                    }
                    batch.add(new Embedder.EmbeddingInput(text, ids, ids.length));
                }
                float[][] got = session.embed(batch).vectors();
                System.arraycopy(got, 0, vectors, from, got.length);
            }
        }
        return vectors;
    }

    static long parquetBytes(Path folder) throws IOException {
        try (Stream<Path> files = Files.list(folder)) {
            return files.filter(f -> f.getFileName().toString().endsWith(".parquet")).mapToLong(f -> f.toFile().length()).sum();
        }
    }
}
