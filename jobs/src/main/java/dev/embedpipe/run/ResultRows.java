package dev.embedpipe.run;

import dev.embedpipe.chunk.Chunk;
import dev.embedpipe.embed.Embedder;
import dev.embedpipe.embed.ModelInfo;
import dev.embedpipe.write.ModelColumns;
import dev.embedpipe.table.OutputSchemas;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;

/** Where the embed step meets the writers: a chunk's outcome as a row of {@link OutputSchemas#RESULTS}. */
public final class ResultRows {
    private ResultRows() {}

    /** The model columns of the rows a run writes. */
    public static ModelColumns columns(ModelInfo model) {
        return new ModelColumns(model.provider(), model.model(), model.tokenizer().name(), model.dimensions());
    }

    public static Row resultRow(Chunk c, float[] vector, Embedder.EmbeddingError e, String origin, ModelInfo model) {
        return RowFactory.create(c.chunkId(), c.docId(), c.chunkIndex(), c.text(), c.tokenCount(), c.charStart(),
                c.charEnd(), c.contentHash(), vector, model.provider(), model.model(),
                model.tokenizer().name(), vector == null ? null : vector.length, c.sourceFile(), c.metadata(), origin,
                e == null ? null : e.errorClass(), e == null ? null : e.httpStatus(), e == null ? null : e.attempts(),
                e == null ? null : e.requestId(), e == null ? null : e.retriable(), e == null ? null : e.message());
    }
}
