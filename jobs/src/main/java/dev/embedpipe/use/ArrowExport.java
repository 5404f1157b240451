package dev.embedpipe.use;

import dev.embedpipe.manifest.Manifest;
import dev.embedpipe.table.OutputSchemas;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.Float4Vector;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.complex.FixedSizeListVector;
import org.apache.arrow.vector.ipc.ArrowFileWriter;
import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.FileUtil;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.Channels;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code embedpipe export --format arrow}: one Arrow IPC file ({@code .arrow}, the random-access "file" format
 * that pyarrow, polars and numpy memory-map) per Parquet file of the table, written batch by batch as the Parquet
 * file is read (memory: one batch). Columns as in the table, except {@code embedding}, a
 * {@code FixedSizeList<float32>[dims]}, so all the vectors of a batch are one contiguous float buffer. The
 * schema's metadata names the model; the table's manifest.json is copied beside the files.
 */
public final class ArrowExport {
    public static final int BATCH_ROWS = 16_384;

    public record Result(int files, long rows, long bytes) {}

    private ArrowExport() {}

    public static Result run(EmbeddingTable table, String to, int batchRows) {
        List<String> columns = Arrays.asList(OutputSchemas.EMBEDDINGS.fieldNames());
        Schema schema = schema(table);
        Path dir = new Path(to);
        long rows = 0;
        long bytes = 0;
        int files = 0;
        try (BufferAllocator allocator = new RootAllocator()) {
            FileSystem fs = dir.getFileSystem(table.conf());
            fs.mkdirs(dir);
            for (Path parquet : table.files()) {
                String name = parquet.getName().replaceFirst("(\\.[a-z0-9]+)?\\.parquet$", "") + ".arrow";
                Path target = new Path(dir, name);
                try (ParquetVectorReader blocks = new ParquetVectorReader(List.of(parquet), table.conf(), columns, batchRows);
                     VectorSchemaRoot root = VectorSchemaRoot.create(schema, allocator);
                     FSDataOutputStream out = fs.create(target, true);
                     ArrowFileWriter writer = new ArrowFileWriter(root, null, Channels.newChannel(out))) {
                    writer.start();
                    while (blocks.hasNext()) {
                        VectorBlock block = blocks.next();
                        fill(root, block);
                        writer.writeBatch();
                        rows += block.size();
                    }
                    writer.end();
                }
                bytes += fs.getFileStatus(target).getLen();
                files++;
            }
            Path manifest = new Path(table.output(), Manifest.FILE);
            FileUtil.copy(manifest.getFileSystem(table.conf()), manifest, fs, new Path(dir, Manifest.FILE), false, true,
                    table.conf());
        } catch (IOException e) {
            throw new UncheckedIOException("exporting to " + to + " failed", e);
        }
        return new Result(files, rows, bytes);
    }

    /** The table's columns as Arrow types, the model in the schema's metadata. */
    static Schema schema(EmbeddingTable table) {
        List<Field> fields = new ArrayList<>();
        for (StructField f : OutputSchemas.EMBEDDINGS.fields()) {
            if (f.name().equals(ParquetVectorReader.EMBEDDING)) {
                Field element = new Field("element", FieldType.notNullable(new ArrowType.FloatingPoint(FloatingPointPrecision.SINGLE)), null);
                fields.add(new Field(f.name(), FieldType.notNullable(new ArrowType.FixedSizeList(table.dimensions())), List.of(element)));
            } else if (f.dataType().equals(DataTypes.IntegerType)) {
                fields.add(new Field(f.name(), FieldType.notNullable(new ArrowType.Int(32, true)), null));
            } else {
                fields.add(new Field(f.name(), FieldType.notNullable(ArrowType.Utf8.INSTANCE), null));
            }
        }
        Map<String, String> metadata = new LinkedHashMap<>();
        metadata.put("embedpipe.provider", table.provider());
        metadata.put("embedpipe.model", table.model());
        metadata.put("embedpipe.dimensions", String.valueOf(table.dimensions()));
        metadata.put("embedpipe.normalized", String.valueOf(table.normalized()));
        return new Schema(fields, metadata);
    }

    private static void fill(VectorSchemaRoot root, VectorBlock block) {
        int n = block.size();
        for (FieldVector vector : root.getFieldVectors()) {
            String name = vector.getName();
            if (vector instanceof FixedSizeListVector list) {
                int d = block.dims();
                if (d != list.getListSize()) {
                    throw new IllegalStateException("vectors of " + d + " values in a table of " + list.getListSize() + " dimensions");
                }
                list.setInitialCapacity(n);
                list.allocateNew();
                Float4Vector data = (Float4Vector) list.getDataVector();
                float[] v = block.vectors();
                for (int i = 0; i < n; i++) {
                    list.setNotNull(i);
                }
                for (int k = 0; k < n * d; k++) {
                    data.setSafe(k, v[k]);
                }
                data.setValueCount(n * d);
            } else if (vector instanceof IntVector ints) {
                ints.allocateNew(n);
                int[] values = block.ints(name);
                for (int i = 0; i < n; i++) {
                    ints.set(i, values[i]);
                }
            } else {
                VarCharVector strings = (VarCharVector) vector;
                strings.allocateNew(n);
                String[] values = block.strings(name);
                for (int i = 0; i < n; i++) {
                    strings.setSafe(i, values[i].getBytes(StandardCharsets.UTF_8));
                }
            }
        }
        root.setRowCount(n);
    }
}
