package dev.embedpipe.table;

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

    /** Chunks without a vector, with what a redrive needs to send them again. */
    public static final StructType ERRORS = new StructType()
            .add("chunk_id", DataTypes.StringType, false)
            .add("doc_id", DataTypes.StringType, false)
            .add("chunk_index", DataTypes.IntegerType, false)
            .add("text", DataTypes.StringType, false)
            .add("token_count", DataTypes.IntegerType, false)
            .add("char_start", DataTypes.IntegerType, false)
            .add("char_end", DataTypes.IntegerType, false)
            .add("content_hash", DataTypes.StringType, false)
            .add("source_file", DataTypes.StringType, false)
            .add("metadata", DataTypes.StringType, false)
            .add("error_class", DataTypes.StringType, false)
            .add("http_status", DataTypes.IntegerType, false)
            .add("attempts", DataTypes.IntegerType, false)
            .add("request_id", DataTypes.StringType, true)
            .add("retriable", DataTypes.BooleanType, false)
            .add("message", DataTypes.StringType, false)
            .add("provider", DataTypes.StringType, false)
            .add("model", DataTypes.StringType, false);

    /** The columns of a schema, to select a table's columns out of the results. */
    public static org.apache.spark.sql.Column[] columns(StructType schema) {
        return java.util.Arrays.stream(schema.fieldNames()).map(org.apache.spark.sql.functions::col)
                .toArray(org.apache.spark.sql.Column[]::new);
    }

    public static Row rejectRow(String sourceFile, long byteOffset, long lineNumber, String reason, String excerpt) {
        return RowFactory.create(sourceFile, byteOffset, lineNumber, reason, excerpt == null ? "" : excerpt);
    }
}
