package dev.embedpipe.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.embedpipe.config.ConfigException;
import dev.embedpipe.config.EmbedpipeConfig;
import dev.embedpipe.use.EmbeddingTable;
import dev.embedpipe.use.QueryEmbedder;
import dev.embedpipe.use.TableSearch;
import dev.embedpipe.use.TopK;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

@Command(name = "search",
        description = {"Embeds the query with the provider, model and tokenizer the table's manifest records (refusing "
                + "any other, exit 2) and prints the k chunks with the highest cosine similarity.", ""})
final class SearchCommand extends TableCommand implements Callable<Integer> {
    enum Engine { auto, driver, spark }

    @Option(names = "--query", required = true, paramLabel = "TEXT", description = "The text to search for")
    String query;

    @Option(names = "-k", paramLabel = "K", defaultValue = "10", description = "How many chunks (default: ${DEFAULT-VALUE})")
    int k;

    @Option(names = "--engine", paramLabel = "ENGINE", defaultValue = "auto",
            description = "driver (stream the files through this JVM), spark (per-partition top-k, merged), or auto: "
                    + "spark above " + TableSearch.DRIVER_MAX_ROWS + " rows (default: ${DEFAULT-VALUE})")
    Engine engine;

    @Option(names = "--json", description = "Print the results as JSON")
    boolean json;

    @Override
    public Integer call() throws Exception {
        long started = System.nanoTime();
        if (k < 1) {
            throw new ConfigException("-k: at least 1");
        }
        EmbeddingTable t = openTable();
        EmbedpipeConfig cfg = config(t);
        float[] q = QueryEmbedder.embed(t, cfg, query);
        long embedded = System.nanoTime();
        boolean distributed = engine == Engine.spark || (engine == Engine.auto && t.rows() > TableSearch.DRIVER_MAX_ROWS);
        List<TopK.Hit> hits = distributed
                ? SparkRun.with(sparkConf(cfg), spark -> TableSearch.distributed(spark, t, q, k))
                : TableSearch.onDriver(t, q, k);
        long done = System.nanoTime();
        String how = distributed ? "spark" : "driver";
        System.out.println(json ? json(t, hits, how, embedded - started, done - embedded)
                : table(t, hits, how, embedded - started, done - embedded));
        return EmbedpipeMain.OK;
    }

    private String table(EmbeddingTable t, List<TopK.Hit> hits, String how, long embedNanos, long scanNanos) {
        StringBuilder out = new StringBuilder(String.format(Locale.ROOT,
                "embedpipe: top %d of %,d chunks in %s for \"%s\" (%s; query embedded in %d ms, %s scan %d ms)%n",
                hits.size(), t.rows(), t.output(), query, t.describeModel(), embedNanos / 1_000_000, how, scanNanos / 1_000_000));
        out.append(String.format(Locale.ROOT, "%4s  %6s  %-32s  %-16s  %s%n", "rank", "score", "chunk_id", "doc_id", "text"));
        int rank = 1;
        for (TopK.Hit h : hits) {
            out.append(String.format(Locale.ROOT, "%4d  %6.4f  %-32s  %-16s  %s%n", rank++, h.score(), h.chunkId(),
                    h.docId(), excerpt(h.text(), 72)));
        }
        return out.toString().stripTrailing();
    }

    static String excerpt(String text, int max) {
        String flat = text.replaceAll("\\s+", " ").strip();
        return flat.length() <= max ? flat : flat.substring(0, max - 1) + "…";
    }

    private String json(EmbeddingTable t, List<TopK.Hit> hits, String how, long embedNanos, long scanNanos) {
        ObjectMapper mapper = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode root = mapper.createObjectNode();
        root.put("query", query);
        root.put("table", t.output());
        root.put("provider", t.provider());
        root.put("model", t.model());
        root.put("dimensions", t.dimensions());
        root.put("rows", t.rows());
        root.put("engine", how);
        root.put("embed_ms", embedNanos / 1_000_000);
        root.put("scan_ms", scanNanos / 1_000_000);
        ArrayNode list = root.putArray("hits");
        int rank = 1;
        for (TopK.Hit h : hits) {
            ObjectNode hit = list.addObject();
            hit.put("rank", rank++);
            hit.put("score", h.score());
            hit.put("chunk_id", h.chunkId());
            hit.put("doc_id", h.docId());
            hit.put("chunk_index", h.chunkIndex());
            hit.put("text", h.text());
        }
        try {
            return mapper.writeValueAsString(root);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
