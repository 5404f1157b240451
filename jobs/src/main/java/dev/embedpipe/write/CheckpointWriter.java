package dev.embedpipe.write;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.parquet.example.data.Group;
import org.apache.parquet.hadoop.ParquetWriter;
import org.apache.parquet.hadoop.metadata.CompressionCodecName;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.MessageTypeParser;

import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * Saves vectors as they are paid for, so that a run killed midway loses at most what was in flight: each embed
 * task appends (content hash, model, vector) rows to small Parquet files under {@code OUTPUT/_checkpoints/},
 * closing a file after every request of a remote provider (so a kill loses only requests in flight) or every
 * {@link #SECONDS_PER_FILE} seconds for a local model (opening a Parquet file per batch costs more than the batch), or at {@link #ROWS_PER_FILE} rows. A file becomes visible under its
 * final name only once complete (written under a hidden name, then renamed). The next run reads them as part of its
 * cache; a committed run deletes them.
 */
public final class CheckpointWriter implements AutoCloseable {
    public static final String FOLDER = "_checkpoints";
    static final int ROWS_PER_FILE = 2000;
    static final long SECONDS_PER_FILE = 30;

    public static final MessageType SCHEMA = MessageTypeParser.parseMessageType("""
            message checkpoint {
              required binary content_hash (STRING);
              required binary provider (STRING);
              required binary model (STRING);
              required binary tokenizer (STRING);
              required int32 dimensions;
              required group embedding (LIST) {
                repeated group list {
                  required float element;
                }
              }
            }""");

    private final Path folder;
    private final String prefix;
    private final ModelColumns model;
    private final Configuration conf;
    private final boolean perRequest;
    private ParquetWriter<Paid> writer;
    private Path hidden;
    private Path visible;
    private int rows;
    private long openedAt;
    private int sequence;

    /**
     * @param prefix     unique per task attempt, e.g. {@code part-00003-attempt-0}
     * @param perRequest close a file after every request (remote providers) rather than every second
     */
    public CheckpointWriter(String output, String prefix, ModelColumns model, Configuration conf, boolean perRequest) {
        this.perRequest = perRequest;
        this.folder = new Path(output, FOLDER);
        this.prefix = prefix;
        this.model = model;
        this.conf = conf;
    }

    public void append(String contentHash, float[] vector) {
        try {
            if (writer == null) {
                open();
            }
            writer.write(new Paid(contentHash, vector));
            rows++;
            if (rows >= ROWS_PER_FILE) {
                finishFile();
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write a checkpoint under " + folder, e);
        }
    }

    /** A request's vectors are all appended: make them durable now (remote), or within 30 s (local model). */
    public void requestDone() {
        if (writer != null && (perRequest || System.nanoTime() - openedAt > SECONDS_PER_FILE * 1_000_000_000L)) {
            try {
                finishFile();
            } catch (IOException e) {
                throw new UncheckedIOException("cannot write a checkpoint under " + folder, e);
            }
        }
    }

    private void open() throws IOException {
        String name = String.format("%s-%05d.parquet", prefix, sequence++);
        visible = new Path(folder, name);
        hidden = new Path(folder, "." + name + ".inprogress");
        writer = new Builder(hidden, model).withConf(conf)
                .withCompressionCodec(CompressionCodecName.SNAPPY).withWriteMode(org.apache.parquet.hadoop.ParquetFileWriter.Mode.OVERWRITE)
                .build();
        rows = 0;
        openedAt = System.nanoTime();
    }

    private void finishFile() throws IOException {
        writer.close();
        writer = null;
        FileSystem fs = visible.getFileSystem(conf);
        if (!fs.rename(hidden, visible)) {
            throw new IOException("cannot rename " + hidden + " to " + visible);
        }
    }

    /**
     * The vectors earlier attempts of this task already paid for (their checkpoint files carry the same partition
     * and stage): a retried task, after a lost executor say, takes them instead of sending their texts again.
     */
    public static java.util.Map<String, float[]> earlierAttempts(String output, int partition, int stageId, Configuration conf) {
        java.util.Map<String, float[]> vectors = new java.util.HashMap<>();
        Path folder = new Path(output, FOLDER);
        String prefix = String.format("part-%05d-attempt-", partition);
        String stage = "-stage-" + stageId + "-";
        try {
            FileSystem fs = folder.getFileSystem(conf);
            if (!fs.exists(folder)) {
                return vectors;
            }
            for (org.apache.hadoop.fs.FileStatus file : fs.listStatus(folder)) {
                String name = file.getPath().getName();
                if (!name.startsWith(prefix) || !name.contains(stage) || !name.endsWith(".parquet")) {
                    continue;
                }
                try (org.apache.parquet.hadoop.ParquetReader<Group> reader = org.apache.parquet.hadoop.ParquetReader
                        .builder(new org.apache.parquet.hadoop.example.GroupReadSupport(), file.getPath()).withConf(conf).build()) {
                    for (Group row = reader.read(); row != null; row = reader.read()) {
                        Group list = row.getGroup("embedding", 0);
                        float[] v = new float[list.getFieldRepetitionCount("list")];
                        for (int i = 0; i < v.length; i++) {
                            v[i] = list.getGroup("list", i).getFloat("element", 0);
                        }
                        vectors.put(row.getString("content_hash", 0), v);
                    }
                }
            }
            return vectors;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the checkpoints under " + folder, e);
        }
    }

    @Override
    public void close() {
        if (writer != null) {
            try {
                finishFile();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    /** A vector paid for, as a checkpoint row. */
    private record Paid(String contentHash, float[] vector) {}

    private static final class Builder extends ParquetWriter.Builder<Paid, Builder> {
        private final ModelColumns model;

        Builder(Path file, ModelColumns model) {
            super(file);
            this.model = model;
        }

        @Override
        protected Builder self() {
            return this;
        }

        @Override
        protected org.apache.parquet.hadoop.api.WriteSupport<Paid> getWriteSupport(Configuration conf) {
            return new PaidWriteSupport(model);
        }
    }

    /**
     * Writes {@link #SCHEMA} rows straight to Parquet's record consumer: every vector an embed task pays for passes
     * here, and building a row object per float (parquet's example groups) cost more than the rest of the write.
     */
    private static final class PaidWriteSupport extends org.apache.parquet.hadoop.api.WriteSupport<Paid> {
        private final ModelColumns model;
        private org.apache.parquet.io.api.RecordConsumer out;

        PaidWriteSupport(ModelColumns model) {
            this.model = model;
        }

        @Override
        public WriteContext init(Configuration configuration) {
            return new WriteContext(SCHEMA, new java.util.HashMap<>());
        }

        @Override
        public void prepareForWrite(org.apache.parquet.io.api.RecordConsumer recordConsumer) {
            out = recordConsumer;
        }

        @Override
        public void write(Paid paid) {
            out.startMessage();
            string(0, "content_hash", paid.contentHash());
            string(1, "provider", model.provider());
            string(2, "model", model.model());
            string(3, "tokenizer", model.tokenizer());
            out.startField("dimensions", 4);
            out.addInteger(paid.vector().length);
            out.endField("dimensions", 4);
            out.startField("embedding", 5);
            out.startGroup();
            if (paid.vector().length > 0) {
                out.startField("list", 0);
                for (float x : paid.vector()) {
                    out.startGroup();
                    out.startField("element", 0);
                    out.addFloat(x);
                    out.endField("element", 0);
                    out.endGroup();
                }
                out.endField("list", 0);
            }
            out.endGroup();
            out.endField("embedding", 5);
            out.endMessage();
        }

        private void string(int index, String field, String value) {
            out.startField(field, index);
            out.addBinary(org.apache.parquet.io.api.Binary.fromString(value));
            out.endField(field, index);
        }
    }
}
