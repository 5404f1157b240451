package dev.embedpipe.use;

import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

import java.util.Iterator;
import java.util.List;

/**
 * Top-k search of a table for a unit-length query vector: on the driver, streaming the Parquet files block by
 * block; or distributed, each partition scanning its rows in blocks and returning its own top k, merged on the
 * driver. Both give the same hits as a brute-force scan.
 */
public final class TableSearch {
    public static final List<String> COLUMNS = List.of("chunk_id", "doc_id", "chunk_index", "text", ParquetVectorReader.EMBEDDING);
    public static final int BLOCK_ROWS = 4096;
    /** Above this many rows {@code --engine auto} scans with Spark. */
    public static final long DRIVER_MAX_ROWS = 2_000_000;

    private TableSearch() {}

    public static List<TopK.Hit> onDriver(EmbeddingTable table, float[] unitQuery, int k) {
        TopK top = new TopK(k);
        try (ParquetVectorReader blocks = table.blocks(COLUMNS, BLOCK_ROWS)) {
            blocks.forEachRemaining(b -> top.scan(b, unitQuery, !table.normalized()));
        }
        return top.best();
    }

    public static List<TopK.Hit> distributed(SparkSession spark, EmbeddingTable table, float[] unitQuery, int k) {
        String[] files = table.files().stream().map(Object::toString).toArray(String[]::new);
        boolean cosine = !table.normalized();
        List<TopK.Hit> perPartition = spark.read().parquet(files)
                .select(COLUMNS.stream().map(org.apache.spark.sql.functions::col).toArray(org.apache.spark.sql.Column[]::new))
                .mapPartitions((MapPartitionsFunction<Row, TopK.Hit>) rows -> partitionTopK(rows, unitQuery, k, cosine),
                        Encoders.javaSerialization(TopK.Hit.class))
                .collectAsList();
        return TopK.merge(k, perPartition);
    }

    /** One partition's top k: its rows copied into blocks of contiguous floats, each block scanned at once. */
    static Iterator<TopK.Hit> partitionTopK(Iterator<Row> rows, float[] unitQuery, int k, boolean cosine) {
        TopK top = new TopK(k);
        int d = unitQuery.length;
        VectorBlock block = new VectorBlock(BLOCK_ROWS, d);
        float[] row = new float[d];
        while (rows.hasNext()) {
            Row r = rows.next();
            List<Float> v = r.getList(4);
            if (v.size() != d) {
                throw new IllegalStateException("a vector of " + v.size() + " values in a table of " + d + " dimensions");
            }
            for (int i = 0; i < d; i++) {
                row[i] = v.get(i);
            }
            int at = block.size();
            block.stringColumn("chunk_id")[at] = r.getString(0);
            block.stringColumn("doc_id")[at] = r.getString(1);
            block.intColumn("chunk_index")[at] = r.getInt(2);
            block.stringColumn("text")[at] = r.getString(3);
            block.addVector(row, d);
            block.endRow();
            if (block.full() || !rows.hasNext()) {
                top.scan(block, unitQuery, cosine);
                block.clear();
            }
        }
        return top.best().iterator();
    }
}
