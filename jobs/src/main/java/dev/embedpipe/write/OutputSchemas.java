package dev.embedpipe.write;

import dev.embedpipe.embed.EmbeddedChunk;
import dev.embedpipe.embed.ModelInfo;
import dev.embedpipe.chunk.Chunk;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/** The columns of the tables a run writes, and the conversion of stage records into Spark rows. */
public final class OutputSchemas {
    private OutputSchemas() {}

    public static final StructType EMBEDDINGS = new StructType()
            .add("chunk_id", DataTypes.StringType, false)
            .add("doc_id", DataTypes.StringType, false)
            .add("chunk_index", DataTypes.IntegerType, false)
            .add("text", DataTypes.StringType, false)
            .add("token_count", DataTypes.IntegerType, false)
            .add("char_start", DataTypes.IntegerType, false)
            .add("char_end", DataTypes.IntegerType, false)
            .add("content_hash", DataTypes.StringType, false)
            .add("embedding", DataTypes.createArrayType(DataTypes.FloatType, false), false)
            .add("provider", DataTypes.StringType, false)
            .add("model", DataTypes.StringType, false)
            .add("tokenizer", DataTypes.StringType, false)
            .add("dimensions", DataTypes.IntegerType, false)
            .add("source_file", DataTypes.StringType, false)
            .add("metadata", DataTypes.StringType, false);

    public static final StructType REJECTS = new StructType()
            .add("source_file", DataTypes.StringType, false)
            .add("byte_offset", DataTypes.LongType, false)
            .add("line_number", DataTypes.LongType, false)
            .add("reason", DataTypes.StringType, false)
            .add("excerpt", DataTypes.StringType, false);

    public static Row embeddingRow(EmbeddedChunk embedded, ModelInfo model) {
        Chunk c = embedded.chunk();
        return RowFactory.create(c.chunkId(), c.docId(), c.chunkIndex(), c.text(), c.tokenCount(), c.charStart(),
                c.charEnd(), c.contentHash(), embedded.vector(), model.provider(), model.model(),
                model.tokenizer().name(), embedded.vector().length, c.sourceFile(), c.metadata());
    }

    public static Row rejectRow(String sourceFile, long byteOffset, long lineNumber, String reason, String excerpt) {
        return RowFactory.create(sourceFile, byteOffset, lineNumber, reason, excerpt == null ? "" : excerpt);
    }
}
