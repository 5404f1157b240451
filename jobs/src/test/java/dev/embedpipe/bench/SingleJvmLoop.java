package dev.embedpipe.bench;

import dev.embedpipe.chunk.ChunkStage;
import dev.embedpipe.chunk.Chunker;
import dev.embedpipe.clean.Cleaner;
import dev.embedpipe.config.EmbedpipeConfig;
import dev.embedpipe.embed.EmbedStage;
import dev.embedpipe.embed.ChunkResult;
import dev.embedpipe.embed.Embedder;
import dev.embedpipe.embed.EmbedderProvider;
import dev.embedpipe.embed.EmbedderRegistry;
import dev.embedpipe.embed.ModelInfo;
import dev.embedpipe.read.Document;
import dev.embedpipe.read.ReadRecord;
import dev.embedpipe.read.RecordParser;
import dev.embedpipe.read.SourceSplit;
import dev.embedpipe.read.SplitReader;
import dev.embedpipe.testing.LocalFiles;
import dev.embedpipe.tokenize.Tokenizers;
import org.apache.hadoop.conf.Configuration;
import org.apache.parquet.hadoop.ParquetWriter;
import org.apache.parquet.hadoop.api.WriteSupport;
import org.apache.parquet.hadoop.metadata.CompressionCodecName;
import org.apache.parquet.io.LocalOutputFile;
import org.apache.parquet.io.OutputFile;
import org.apache.parquet.io.api.Binary;
import org.apache.parquet.io.api.RecordConsumer;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.MessageTypeParser;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Iterator;
import java.util.NoSuchElementException;

/**
 * The limit of benchmark item 5: the job's work without Spark, in one JVM and one loop. It reads the file, cleans,
 * chunks and tokenizes with the job's own classes, sends the chunks through the same embedder (same request
 * packing and requests in flight), and writes the embeddings table's columns to one Parquet file (zstd), straight
 * from float[] through Parquet's record consumer. What it leaves out is what Spark adds: partitions, shuffles,
 * the cache lookup, checkpoints, the rejects and errors tables, the manifest.
 */
final class SingleJvmLoop {
    private static final MessageType SCHEMA = MessageTypeParser.parseMessageType("""
            message embeddings {
              required binary chunk_id (STRING); required binary doc_id (STRING); required int32 chunk_index;
              required binary text (STRING); required int32 token_count; required int32 char_start; required int32 char_end;
              required binary content_hash (STRING);
              required group embedding (LIST) { repeated group list { required float element; } }
              required binary provider (STRING); required binary model (STRING); required binary tokenizer (STRING);
              required int32 dimensions; required binary source_file (STRING); required binary metadata (STRING);
            }""");

    private SingleJvmLoop() {}

    /** Runs the loop over {@code input} into {@code output} (a .parquet file); returns the rows written. */
    static long run(EmbedpipeConfig cfg, Path input, Path output) throws IOException {
        EmbedderProvider provider = EmbedderRegistry.get(cfg.embedder().provider());
        ModelInfo model = provider.modelInfo(cfg);
        Embedder embedder = provider.embedder(cfg);
        SourceSplit whole = new SourceSplit(0, input.toUri().toString(), 0, 0, Files.size(input), false);
        long rows = 0;
        try (SplitReader reader = new SplitReader(whole, LocalFiles.opener(),
                new RecordParser(cfg.input().idField(), cfg.input().textField(), cfg.input().maxLineBytes()),
                new Cleaner(cfg.clean().steps(), cfg.clean().minChars()), cfg.input().maxLineBytes());
             Embedder.Session session = embedder.openSession(cfg, 1);
             EmbedStage stage = new EmbedStage(new ChunkStage(documents(reader),
                     new Chunker(Tokenizers.get(model.tokenizer()), cfg.chunk().maxTokens(), cfg.chunk().overlapTokens())),
                     session, embedder.shape(cfg, 1));
             ParquetWriter<ChunkResult> writer = new Builder(new LocalOutputFile(output), model)
                     .withCompressionCodec(CompressionCodecName.ZSTD).build()) {
            while (stage.hasNext()) {
                ChunkResult done = stage.next();
                if (!done.failed()) {
                    writer.write(done);
                    rows++;
                }
            }
        } catch (Exception e) {
            throw e instanceof IOException io ? io : new IOException(e);
        }
        return rows;
    }

    /** The documents the cleaner kept; rejects and tallies are dropped (the loop keeps no rejects table). */
    private static Iterator<Document> documents(Iterator<ReadRecord> records) {
        return new Iterator<>() {
            private Document next;

            @Override
            public boolean hasNext() {
                while (next == null && records.hasNext()) {
                    if (records.next() instanceof Document d && !d.filtered()) {
                        next = d;
                    }
                }
                return next != null;
            }

            @Override
            public Document next() {
                if (!hasNext()) {
                    throw new NoSuchElementException();
                }
                Document d = next;
                next = null;
                return d;
            }
        };
    }

    private static final class Builder extends ParquetWriter.Builder<ChunkResult, Builder> {
        private final ModelInfo model;

        Builder(OutputFile file, ModelInfo model) {
            super(file);
            this.model = model;
        }

        @Override
        protected Builder self() {
            return this;
        }

        @Override
        protected WriteSupport<ChunkResult> getWriteSupport(Configuration conf) {
            return new EmbeddingsWriteSupport(model);
        }
    }

    private static final class EmbeddingsWriteSupport extends WriteSupport<ChunkResult> {
        private final ModelInfo model;
        private RecordConsumer out;

        EmbeddingsWriteSupport(ModelInfo model) {
            this.model = model;
        }

        @Override
        public WriteContext init(Configuration configuration) {
            return new WriteContext(SCHEMA, new HashMap<>());
        }

        @Override
        public void prepareForWrite(RecordConsumer recordConsumer) {
            out = recordConsumer;
        }

        @Override
        public void write(ChunkResult record) {
            var c = record.chunk();
            float[] v = record.vector();
            out.startMessage();
            string(0, "chunk_id", c.chunkId());
            string(1, "doc_id", c.docId());
            integer(2, "chunk_index", c.chunkIndex());
            string(3, "text", c.text());
            integer(4, "token_count", c.tokenCount());
            integer(5, "char_start", c.charStart());
            integer(6, "char_end", c.charEnd());
            string(7, "content_hash", c.contentHash());
            out.startField("embedding", 8);
            out.startGroup();
            out.startField("list", 0);
            for (float x : v) {
                out.startGroup();
                out.startField("element", 0);
                out.addFloat(x);
                out.endField("element", 0);
                out.endGroup();
            }
            out.endField("list", 0);
            out.endGroup();
            out.endField("embedding", 8);
            string(9, "provider", model.provider());
            string(10, "model", model.model());
            string(11, "tokenizer", model.tokenizer().name());
            integer(12, "dimensions", v.length);
            string(13, "source_file", c.sourceFile());
            string(14, "metadata", c.metadata());
            out.endMessage();
        }

        private void string(int index, String name, String value) {
            out.startField(name, index);
            out.addBinary(Binary.fromString(value));
            out.endField(name, index);
        }

        private void integer(int index, String name, int value) {
            out.startField(name, index);
            out.addInteger(value);
            out.endField(name, index);
        }
    }
}
