package dev.embedpipe.bench;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.huggingface.tokenizers.jni.TokenizersLibrary;
import dev.embedpipe.chunk.Chunk;
import dev.embedpipe.chunk.Chunker;
import dev.embedpipe.config.ConfigLoader;
import dev.embedpipe.embed.EmbedderRegistry;
import dev.embedpipe.embed.ModelInfo;
import dev.embedpipe.read.Document;
import dev.embedpipe.tokenize.TextTokenizer;
import dev.embedpipe.tokenize.TokenizerSpec;
import dev.embedpipe.tokenize.Tokenizers;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.infra.Blackhole;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Item 1: the job's {@link Chunker} (tokenize, cut, re-check, hash) against the raw DJL
 * {@link HuggingFaceTokenizer#encode(String)} of the same documents (the limit), and against the bare
 * native tokenization that both stand on, one thread (per core). One operation is one pass over the corpus, so
 * tokens/s and chunks/s are ops/s times the corpus's tokens and chunks.
 */
@State(Scope.Thread)
@Threads(1)
@Fork(value = 1, jvmArgsAppend = {"-Dai.djl.offline=true", "-DOPT_OUT_TRACKING=true", "-Xmx1g"})
public class ChunkerBenchmark {
    static final int MAX_TOKENS = 256;
    static final int OVERLAP_TOKENS = 32;

    /** gsm8k: short documents, one chunk each; gsm8k-joined: 20 of them per document, many chunks; wordnet: tiny. */
    @Param({"gsm8k", "gsm8k-joined", "wordnet"})
    public String corpus;

    private List<Document> docs;
    private Chunker chunker;
    private HuggingFaceTokenizer raw;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        docs = documents(corpus);
        TokenizerSpec spec = modelTokenizer();
        chunker = new Chunker(Tokenizers.get(spec), MAX_TOKENS, OVERLAP_TOKENS);
        // The limit: DJL's tokenizer from the same tokenizer.json, with its defaults but no truncation.
        raw = HuggingFaceTokenizer.newInstance(new ByteArrayInputStream(Tokenizers.readBytes(spec.location())),
                Map.of("truncation", "false", "padding", "false", "modelMaxLength", "100000"));
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        raw.close();
    }

    @Benchmark
    public void rawTokenizer(Blackhole bh) {
        for (Document d : docs) {
            bh.consume(raw.encode(d.text()));
        }
    }

    /** The floor under both: the native tokenization and its ids, nothing else copied out. */
    @Benchmark
    public void nativeIds(Blackhole bh) {
        for (Document d : docs) {
            long encoding = TokenizersLibrary.LIB.encode(raw.getHandle(), d.text(), true);
            bh.consume(TokenizersLibrary.LIB.getTokenIds(encoding));
            TokenizersLibrary.LIB.deleteEncoding(encoding);
        }
    }

    @Benchmark
    public void chunker(Blackhole bh) {
        for (Document d : docs) {
            bh.consume(chunker.chunk(d));
        }
    }

    static TokenizerSpec modelTokenizer() {
        ModelInfo model = EmbedderRegistry.get("local-onnx").modelInfo(ConfigLoader.defaultsWith(Map.of()));
        return model.tokenizer();
    }

    static List<Document> documents(String corpus) {
        List<String> texts = switch (corpus) {
            case "gsm8k" -> BenchCorpus.texts("gsm8k_test_head200.jsonl");
            case "gsm8k-joined" -> BenchCorpus.joined(BenchCorpus.texts("gsm8k_test_head200.jsonl"), 20);
            case "wordnet" -> BenchCorpus.texts("wordnet31_glosses_every200th.jsonl.gz");
            default -> throw new IllegalArgumentException(corpus);
        };
        List<Document> docs = new ArrayList<>();
        for (int i = 0; i < texts.size(); i++) {
            docs.add(new Document("doc-" + i, texts.get(i), "{}", 0, "file:/bench.jsonl", 0, 0, i + 1, null));
        }
        return docs;
    }

    /** Rows from JMH's results: the corpus's tokens and chunks per pass turn passes/s into tokens/s and chunks/s. */
    public static List<BenchRow> rows(JmhResults results) {
        TextTokenizer tokenizer = Tokenizers.get(modelTokenizer());
        Chunker chunker = new Chunker(tokenizer, MAX_TOKENS, OVERLAP_TOKENS);
        List<BenchRow> rows = new ArrayList<>();
        for (String corpus : List.of("gsm8k", "gsm8k-joined", "wordnet")) {
            Double chunkerOps = results.median(ChunkerBenchmark.class, "chunker", "corpus", corpus);
            Double rawOps = results.median(ChunkerBenchmark.class, "rawTokenizer", "corpus", corpus);
            Double nativeOps = results.median(ChunkerBenchmark.class, "nativeIds", "corpus", corpus);
            if (chunkerOps == null || rawOps == null) {
                continue;
            }
            List<Document> docs = documents(corpus);
            long tokens = 0;
            long chunks = 0;
            for (Document d : docs) {
                tokens += tokenizer.count(d.text());
                List<Chunk> cs = chunker.chunk(d);
                chunks += cs.size();
            }
            String shape = String.format("%,d documents, %,d tokens, %,d chunks of <= %d tokens (overlap %d)",
                    docs.size(), tokens, chunks, MAX_TOKENS, OVERLAP_TOKENS);
            rows.add(BenchRow.ratio(1, "Chunker vs raw DJL encode, " + corpus + ": tokens/s per core", chunkerOps * tokens,
                    "tokens/s", rawOps * tokens, "tokens/s", 0.8, shape));
            rows.add(BenchRow.info(1, "Chunker, " + corpus + ": chunks/s per core", chunkerOps * chunks, "chunks/s", shape));
            if (nativeOps != null) {
                rows.add(new BenchRow(1, "Chunker vs native tokenization (ids only), " + corpus + ": tokens/s per core",
                        chunkerOps * tokens, "tokens/s", nativeOps * tokens, "tokens/s", chunkerOps / nativeOps, null, null,
                        "the floor under DJL's encode: what chunking adds (spans, cuts, hashing) on top of tokenizing"));
            }
        }
        return rows;
    }
}
