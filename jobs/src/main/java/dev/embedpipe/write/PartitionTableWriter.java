package dev.embedpipe.write;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.parquet.example.data.Group;
import org.apache.parquet.example.data.simple.SimpleGroupFactory;
import org.apache.parquet.hadoop.ParquetFileWriter;
import org.apache.parquet.hadoop.ParquetWriter;
import org.apache.parquet.hadoop.example.ExampleParquetWriter;
import org.apache.parquet.hadoop.metadata.CompressionCodecName;
import org.apache.parquet.schema.LogicalTypeAnnotation;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.PrimitiveType.PrimitiveTypeName;
import org.apache.parquet.schema.Type;
import org.apache.parquet.schema.Types;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;

/**
 * One task's file of a table written beside the one Spark writes in the same pass (a run's {@code errors/} next to
 * its {@code embeddings/}): rows go to a hidden file, which {@link #finish()} renames to
 * {@code part-NNNNN-WRITEID-c000.<codec>.parquet} (Spark's own naming) once the task has produced all of them, replacing an earlier attempt's file
 * of the same partition, so the table holds each partition once. Nothing is written for a partition without rows.
 * Columns map as Spark writes them (strings, ints, longs, booleans, floats and float lists).
 */
public final class PartitionTableWriter implements AutoCloseable {
    private final Path folder;
    private final String name;
    private final StructType schema;
    private final MessageType parquetSchema;
    private final CompressionCodecName codec;
    private final Configuration conf;
    private final SimpleGroupFactory groups;
    private ParquetWriter<Group> writer;
    private Path hidden;
    private final boolean retry;
    private long rows;

    /**
     * @param writeId       the same for every task of one write (Spark's job UUID in its file names)
     * @param attemptNumber the task's attempt number: from the second on, an earlier attempt's file may be there
     * @param attemptId     unique per task attempt, so two attempts never write the same hidden file
     * @param codec         Spark's name of a Parquet codec ({@code snappy}, {@code zstd}, {@code uncompressed}, ...)
     */
    public PartitionTableWriter(String folder, String writeId, int partition, int attemptNumber, long attemptId, StructType schema,
                                String codec, Configuration conf) {
        this.retry = attemptNumber > 0;
        this.folder = new Path(folder);
        this.codec = CompressionCodecName.fromConf(codec.equals("none") ? "uncompressed" : codec);
        this.name = String.format("part-%05d-%s-c000%s.parquet", partition, writeId, this.codec.getExtension());
        this.hidden = new Path(this.folder, String.format(".%s.attempt-%d.inprogress", name, attemptId));
        this.schema = schema;
        this.parquetSchema = parquetSchema(schema);
        this.groups = new SimpleGroupFactory(parquetSchema);
        this.conf = conf;
    }

    public void write(Row row) {
        try {
            if (writer == null) {
                writer = open(hidden);
            }
            writer.write(group(row));
            rows++;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + hidden, e);
        }
    }

    public long rows() {
        return rows;
    }

    /** All rows are written: the file takes its final name (replacing an earlier attempt's). */
    public void finish() {
        try {
            Path visible = new Path(folder, name);
            FileSystem fs = folder.getFileSystem(conf);
            if (retry) {
                fs.delete(visible, false); // an earlier attempt of this partition whose task then failed: ours, replaced
            }
            if (writer == null) {
                return;
            }
            writer.close();
            writer = null;
            if (!fs.rename(hidden, visible)) {
                throw new IOException("cannot rename " + hidden + " to " + visible);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot finish " + hidden, e);
        }
    }

    /** A task that failed: its hidden file goes (the table never listed it). */
    @Override
    public void close() {
        if (writer == null) {
            return;
        }
        try {
            writer.close();
            writer = null;
            hidden.getFileSystem(conf).delete(hidden, false);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot remove " + hidden, e);
        }
    }

    /**
     * Once every task has run: removes the hidden files of attempts that died without {@link #close()} (a killed
     * executor), writes an empty file carrying the schema when no task had a row (so the table always opens), and
     * marks the folder complete as Spark's writer would (a {@code _SUCCESS} file unless the configuration turns
     * it off, as embedpipe's jobs do).
     */
    public static void completeTable(String folder, StructType schema, String codec, Configuration conf) {
        Path dir = new Path(folder);
        try {
            FileSystem fs = dir.getFileSystem(conf);
            fs.mkdirs(dir);
            boolean any = false;
            for (FileStatus file : fs.listStatus(dir)) {
                String n = file.getPath().getName();
                if (n.startsWith(".part-") && n.endsWith(".inprogress")) {
                    fs.delete(file.getPath(), false);
                } else if (n.startsWith("part-") && n.endsWith(".parquet")) {
                    any = true;
                }
            }
            if (!any) {
                PartitionTableWriter empty = new PartitionTableWriter(folder, java.util.UUID.randomUUID().toString(), 0, 0, 0, schema, codec, conf);
                empty.open(new Path(dir, empty.name)).close();
            }
            if (conf.getBoolean("mapreduce.fileoutputcommitter.marksuccessfuljobs", true)) { // as Spark's writer does
                fs.create(new Path(dir, "_SUCCESS"), true).close();
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot complete the table " + folder, e);
        }
    }

    private ParquetWriter<Group> open(Path path) throws IOException {
        return ExampleParquetWriter.builder(path).withConf(conf).withType(parquetSchema).withCompressionCodec(codec)
                .withWriteMode(ParquetFileWriter.Mode.OVERWRITE).build();
    }

    private Group group(Row row) {
        Group g = groups.newGroup();
        StructField[] fields = schema.fields();
        for (int i = 0; i < fields.length; i++) {
            if (row.isNullAt(i)) {
                continue;
            }
            DataType type = fields[i].dataType();
            String field = fields[i].name();
            if (type.equals(DataTypes.StringType)) {
                g.append(field, row.getString(i));
            } else if (type.equals(DataTypes.IntegerType)) {
                g.append(field, row.getInt(i));
            } else if (type.equals(DataTypes.LongType)) {
                g.append(field, row.getLong(i));
            } else if (type.equals(DataTypes.BooleanType)) {
                g.append(field, row.getBoolean(i));
            } else if (type.equals(DataTypes.FloatType)) {
                g.append(field, row.getFloat(i));
            } else {
                Group list = g.addGroup(field);
                Object value = row.get(i);
                if (value instanceof float[] floats) {
                    for (float x : floats) {
                        list.addGroup("list").append("element", x);
                    }
                } else {
                    for (Object x : (List<?>) (value instanceof scala.collection.Seq<?> seq
                            ? scala.jdk.javaapi.CollectionConverters.asJava(seq) : value)) {
                        list.addGroup("list").append("element", ((Number) x).floatValue());
                    }
                }
            }
        }
        return g;
    }

    /** The Parquet schema Spark writes for these columns (non-nullable columns are required, lists in three levels). */
    static MessageType parquetSchema(StructType schema) {
        Types.MessageTypeBuilder message = Types.buildMessage();
        for (StructField field : schema.fields()) {
            Type.Repetition repetition = field.nullable() ? Type.Repetition.OPTIONAL : Type.Repetition.REQUIRED;
            DataType type = field.dataType();
            if (type.equals(DataTypes.StringType)) {
                message.primitive(PrimitiveTypeName.BINARY, repetition).as(LogicalTypeAnnotation.stringType()).named(field.name());
            } else if (type.equals(DataTypes.IntegerType)) {
                message.primitive(PrimitiveTypeName.INT32, repetition).named(field.name());
            } else if (type.equals(DataTypes.LongType)) {
                message.primitive(PrimitiveTypeName.INT64, repetition).named(field.name());
            } else if (type.equals(DataTypes.BooleanType)) {
                message.primitive(PrimitiveTypeName.BOOLEAN, repetition).named(field.name());
            } else if (type.equals(DataTypes.FloatType)) {
                message.primitive(PrimitiveTypeName.FLOAT, repetition).named(field.name());
            } else if (type instanceof ArrayType array && array.elementType().equals(DataTypes.FloatType)) {
                Type.Repetition element = array.containsNull() ? Type.Repetition.OPTIONAL : Type.Repetition.REQUIRED;
                message.group(repetition).as(LogicalTypeAnnotation.listType())
                        .repeatedGroup().primitive(PrimitiveTypeName.FLOAT, element).named("element").named("list")
                        .named(field.name());
            } else {
                throw new IllegalArgumentException("no Parquet mapping for column " + field.name() + " of type " + type);
            }
        }
        return message.named("spark_schema");
    }
}
