package dev.embedpipe.use;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.parquet.hadoop.ParquetReader;
import org.apache.parquet.hadoop.api.InitContext;
import org.apache.parquet.hadoop.api.ReadSupport;
import org.apache.parquet.io.api.Binary;
import org.apache.parquet.io.api.Converter;
import org.apache.parquet.io.api.GroupConverter;
import org.apache.parquet.io.api.PrimitiveConverter;
import org.apache.parquet.io.api.RecordMaterializer;
import org.apache.parquet.schema.GroupType;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.PrimitiveType;
import org.apache.parquet.schema.Type;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;

/**
 * Streams the rows of embedding-table Parquet files as {@link VectorBlock}s of at most {@code blockRows} rows,
 * reading only the columns asked for. Values go from Parquet's column decoders straight into the block's arrays
 * (the vectors into one contiguous float buffer): no row objects, no Spark. Memory is one block at a time.
 */
public final class ParquetVectorReader implements Iterator<VectorBlock>, AutoCloseable {
    public static final String EMBEDDING = "embedding";

    private final Iterator<Path> files;
    private final Configuration conf;
    private final List<String> columns;
    private final int blockRows;
    private ParquetReader<Object> reader;
    private VectorBlock current;
    private VectorBlock ready;
    private boolean exhausted;

    /** @param columns the columns to read, {@code embedding} among them for vectors */
    public ParquetVectorReader(List<Path> files, Configuration conf, List<String> columns, int blockRows) {
        this.files = files.iterator();
        this.conf = conf;
        this.columns = List.copyOf(columns);
        this.blockRows = blockRows;
    }

    /** Every row of the files in one block (the caller has checked that rows x dims floats fit the heap). */
    public static VectorBlock readAll(List<Path> files, Configuration conf, List<String> columns, long rows) {
        if (rows > Integer.MAX_VALUE / 4) {
            throw new IllegalArgumentException(rows + " rows are too many for one in-memory block");
        }
        try (ParquetVectorReader r = new ParquetVectorReader(files, conf, columns, (int) Math.max(1, rows))) {
            VectorBlock all = r.hasNext() ? r.next() : new VectorBlock(1, 0);
            if (r.hasNext()) {
                throw new IllegalStateException("the table holds more rows than its footers say (" + rows + ")");
            }
            return all;
        }
    }

    @Override
    public boolean hasNext() {
        if (ready == null && !exhausted) {
            ready = fill();
        }
        return ready != null;
    }

    @Override
    public VectorBlock next() {
        if (!hasNext()) {
            throw new NoSuchElementException();
        }
        VectorBlock b = ready;
        ready = null;
        return b;
    }

    private VectorBlock fill() {
        current = new VectorBlock(blockRows, current == null ? 0 : current.dims());
        try {
            while (!current.full()) {
                if (reader == null) {
                    if (!files.hasNext()) {
                        exhausted = true;
                        break;
                    }
                    reader = ParquetReader.builder(new BlockReadSupport(), files.next()).withConf(conf).build();
                }
                if (reader.read() == null) {
                    reader.close();
                    reader = null;
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("reading the embeddings table failed", e);
        }
        return current.size() == 0 ? null : current;
    }

    @Override
    public void close() {
        exhausted = true;
        if (reader != null) {
            try {
                reader.close();
            } catch (IOException e) {
                // nothing more to read from it
            }
            reader = null;
        }
    }

    /** Projects the file onto the asked columns and materializes each record into the current block. */
    private final class BlockReadSupport extends ReadSupport<Object> {
        @Override
        public ReadContext init(InitContext context) {
            MessageType file = context.getFileSchema();
            List<Type> fields = new ArrayList<>();
            for (String column : columns) {
                if (!file.containsField(column)) {
                    throw new IllegalArgumentException("not an embeddings table: no column " + column);
                }
                fields.add(file.getType(column));
            }
            return new ReadContext(new MessageType(file.getName(), fields));
        }

        @Override
        public RecordMaterializer<Object> prepareForRead(Configuration configuration, Map<String, String> keyValueMetaData,
                                                         MessageType fileSchema, ReadContext readContext) {
            RowConverter root = new RowConverter(readContext.getRequestedSchema());
            return new RecordMaterializer<>() {
                @Override
                public Object getCurrentRecord() {
                    return Boolean.TRUE;
                }

                @Override
                public GroupConverter getRootConverter() {
                    return root;
                }
            };
        }
    }

    private final class RowConverter extends GroupConverter {
        private final Converter[] fields;
        private float[] vector = new float[512];
        private int length;

        RowConverter(GroupType schema) {
            fields = new Converter[schema.getFieldCount()];
            for (int i = 0; i < fields.length; i++) {
                Type t = schema.getType(i);
                String name = t.getName();
                if (name.equals(EMBEDDING)) {
                    fields[i] = listOfFloats();
                } else if (t.isPrimitive() && t.asPrimitiveType().getPrimitiveTypeName() == PrimitiveType.PrimitiveTypeName.INT32) {
                    fields[i] = new PrimitiveConverter() {
                        @Override
                        public void addInt(int value) {
                            current.intColumn(name)[current.size()] = value;
                        }
                    };
                } else {
                    fields[i] = new PrimitiveConverter() {
                        @Override
                        public void addBinary(Binary value) {
                            current.stringColumn(name)[current.size()] = value.toStringUsingUTF8();
                        }
                    };
                }
            }
        }

        /** Spark's array&lt;float&gt;: group (LIST) { repeated group list { float element } }. */
        private GroupConverter listOfFloats() {
            PrimitiveConverter element = new PrimitiveConverter() {
                @Override
                public void addFloat(float value) {
                    if (length == vector.length) {
                        vector = java.util.Arrays.copyOf(vector, length * 2);
                    }
                    vector[length++] = value;
                }

                @Override
                public void addDouble(double value) {
                    addFloat((float) value);
                }
            };
            GroupConverter repeated = new GroupConverter() {
                @Override
                public Converter getConverter(int fieldIndex) {
                    return element;
                }

                @Override
                public void start() {}

                @Override
                public void end() {}
            };
            return new GroupConverter() {
                @Override
                public Converter getConverter(int fieldIndex) {
                    return repeated;
                }

                @Override
                public void start() {}

                @Override
                public void end() {}
            };
        }

        @Override
        public Converter getConverter(int fieldIndex) {
            return fields[fieldIndex];
        }

        @Override
        public void start() {
            length = 0;
        }

        @Override
        public void end() {
            if (columns.contains(EMBEDDING)) {
                current.addVector(vector, length);
            }
            current.endRow();
        }
    }
}
