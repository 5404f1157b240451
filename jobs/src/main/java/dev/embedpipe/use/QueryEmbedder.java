package dev.embedpipe.use;

import dev.embedpipe.config.ConfigException;
import dev.embedpipe.config.EmbedpipeConfig;
import dev.embedpipe.embed.Embedder;
import dev.embedpipe.embed.EmbedderProvider;
import dev.embedpipe.embed.EmbedderRegistry;
import dev.embedpipe.embed.ModelInfo;
import dev.embedpipe.tokenize.TextTokenizer;
import dev.embedpipe.tokenize.Tokenizers;
import dev.embedpipe.util.Hashing;

import java.util.HexFormat;
import java.util.List;
import java.util.Objects;

/**
 * Embeds a query with the model a table was embedded with: the configuration is the run's own (from its
 * manifest, {@code --set} on top), and it is refused unless provider, model, dimensions and tokenizer (and, for a
 * local model, the weights' and tokenizer's SHA-256) are the table's.
 */
public final class QueryEmbedder {
    private QueryEmbedder() {}

    /** @throws ConfigException (exit 2) naming what differs */
    public static ModelInfo checkSameModel(EmbeddingTable table, EmbedpipeConfig config) {
        EmbedderProvider provider = EmbedderRegistry.find(config.embedder().provider());
        if (provider == null) {
            throw new ConfigException("embedder.provider: unknown provider " + config.embedder().provider()
                    + ", known: " + EmbedderRegistry.names());
        }
        ModelInfo info = provider.modelInfo(config);
        String mine = info.provider() + " " + info.model() + " (" + info.dimensions() + " dims)";
        if (!info.provider().equals(table.provider()) || !info.model().equals(table.model())
                || info.dimensions() != table.dimensions() || !info.tokenizer().name().equals(table.tokenizer())) {
            throw refused(table, mine + (info.tokenizer().name().equals(table.tokenizer()) ? "" : " with tokenizer " + info.tokenizer().name()));
        }
        if (info.recipe() != null) {
            var made = table.recipe();
            var mineRecipe = info.recipe();
            if (made.pooling() != mineRecipe.pooling() || made.normalize() != mineRecipe.normalize()
                    || !made.documentPrompt().equals(mineRecipe.documentPrompt())) {
                throw refused(table, mine + " pooled or prompted otherwise (" + mineRecipe.pooling().configName()
                        + " pooling, normalize " + mineRecipe.normalize() + ", document prompt '" + mineRecipe.documentPrompt() + "')");
            }
        }
        String tokenizerSha = Objects.requireNonNullElse(table.manifest().model().tokenizer().sha256(), "");
        if (!tokenizerSha.isEmpty() && !tokenizerSha.equals(Tokenizers.get(info.tokenizer()).sha256())) {
            throw refused(table, mine + " with a different tokenizer.json (SHA-256 differs)");
        }
        String modelSha = Objects.requireNonNullElse(table.manifest().model().sha256(), "");
        if (info.modelLocation() != null && !modelSha.isEmpty()
                && !modelSha.equals(HexFormat.of().formatHex(Hashing.sha256().digest(Tokenizers.readBytes(info.modelLocation()))))) {
            throw refused(table, mine + " with different weights (SHA-256 differs)");
        }
        return info;
    }

    private static ConfigException refused(EmbeddingTable table, String query) {
        return new ConfigException("--table " + table.output() + " was embedded with " + table.describeModel()
                + ", the query would be embedded with " + query + ": scores would be meaningless (drop the --set, or search a table of that model)");
    }

    /** The query's vector at unit length (scores are cosines). */
    public static float[] embed(EmbeddingTable table, EmbedpipeConfig config, String query) {
        ModelInfo info = checkSameModel(table, config);
        if (query.isBlank()) {
            throw new ConfigException("--query: empty");
        }
        TextTokenizer tokenizer = Tokenizers.get(info.tokenizer());
        long[] ids = tokenizer.ids(info.queryText(query)); // the model's query prompt is part of what it sees
        if (ids.length > info.maxInputTokens()) {
            throw new ConfigException("--query: " + ids.length + " tokens, over the model's " + info.maxInputTokens());
        }
        Embedder embedder = EmbedderRegistry.get(info.provider()).embedder(config);
        try (Embedder.Session session = embedder.openSession(config, 1)) {
            Embedder.EmbeddingBatch batch = session.embed(List.of(new Embedder.EmbeddingInput(info.queryText(query),
                    info.modelLocation() != null ? ids : null, ids.length)));
            if (batch.vectors()[0] == null) {
                Embedder.EmbeddingError e = batch.errors()[0];
                throw new IllegalStateException("the query could not be embedded: " + e.errorClass() + " " + e.message());
            }
            return Kernels.unit(batch.vectors()[0]);
        }
    }
}
