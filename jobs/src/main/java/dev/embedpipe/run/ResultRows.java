package dev.embedpipe.run;

import dev.embedpipe.chunk.Chunk;
import dev.embedpipe.embed.ChunkResult;
import dev.embedpipe.embed.Embedder;
import dev.embedpipe.embed.ModelInfo;
import dev.embedpipe.table.OutputSchemas;
import dev.embedpipe.write.ModelColumns;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;

/** Where a chunk's {@link ChunkResult} becomes a row of the tables a run writes. */
public final class ResultRows {
    private ResultRows() {}

    /** The model columns of the rows a run writes. */
    public static ModelColumns columns(ModelInfo model) {
        return new ModelColumns(model.provider(), model.model(), model.tokenizer().name(), model.dimensions());
    }

    /** A row of {@link OutputSchemas#EMBEDDINGS}, for a result with a vector. */
    public static Row embeddingRow(ChunkResult r, ModelColumns model) {
        Chunk c = r.chunk();
        float[] v = r.vector();
        return RowFactory.create(c.chunkId(), c.docId(), c.chunkIndex(), c.text(), c.tokenCount(), c.charStart(),
                c.charEnd(), c.contentHash(), v, model.provider(), model.model(), model.tokenizer(), v.length,
                c.sourceFile(), c.metadata());
    }

    /** A row of {@link OutputSchemas#ERRORS}, for a result without a vector. */
    public static Row errorRow(ChunkResult r, ModelColumns model) {
        Chunk c = r.chunk();
        Embedder.EmbeddingError e = r.error();
        return RowFactory.create(c.chunkId(), c.docId(), c.chunkIndex(), c.text(), c.tokenCount(), c.charStart(),
                c.charEnd(), c.contentHash(), c.sourceFile(), c.metadata(), e.errorClass(), e.httpStatus(), e.attempts(),
                e.requestId(), e.retriable(), e.message() == null ? "" : e.message(), model.provider(), model.model());
    }

    /** A row of the shared cache's table ({@code cache.table}), for a vector this run paid for. */
    public static Row cacheRow(ChunkResult r, ModelColumns model) {
        return RowFactory.create(r.chunk().contentHash(), model.provider(), model.model(), model.tokenizer(),
                r.vector().length, r.vector());
    }
}
