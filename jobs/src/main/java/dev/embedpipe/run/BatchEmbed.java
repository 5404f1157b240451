package dev.embedpipe.run;

import dev.embedpipe.chunk.Chunk;
import dev.embedpipe.config.EmbedpipeConfig;
import dev.embedpipe.embed.Embedder.EmbeddingError;
import dev.embedpipe.embed.ChunkResult;
import dev.embedpipe.embed.HashGroup;
import dev.embedpipe.embed.ModelInfo;
import dev.embedpipe.embed.RequestPacker;
import dev.embedpipe.embed.remote.BatchApi;
import dev.embedpipe.embed.remote.BatchJournal;
import dev.embedpipe.embed.remote.BatchRequest;
import dev.embedpipe.embed.remote.BatchRunner;
import dev.embedpipe.embed.remote.OpenAiProvider;
import dev.embedpipe.progress.ProgressCounters;
import dev.embedpipe.progress.ProgressCounters.Counter;
import dev.embedpipe.progress.ProgressReporter;
import dev.embedpipe.run.step.EmbedStep;
import org.apache.parquet.example.data.Group;
import org.apache.parquet.example.data.simple.SimpleGroupFactory;
import org.apache.parquet.hadoop.ParquetWriter;
import org.apache.parquet.hadoop.example.ExampleParquetWriter;
import org.apache.parquet.hadoop.metadata.CompressionCodecName;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.MessageTypeParser;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Tuple2;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;

/**
 * The Spark wiring of batch mode: executors pack the cache's misses into request lines (skipping texts an earlier
 * run's batches already carry), the driver streams them into a {@link BatchRunner}, its answers are written to a
 * staging table by content hash, and one cogroup turns them into result rows as the live path's.
 */
public final class BatchEmbed {
    private static final Logger LOG = LoggerFactory.getLogger(BatchEmbed.class);
    static final StructType ANSWERS = new StructType()
            .add("content_hash", DataTypes.StringType, false)
            .add("vector", DataTypes.createArrayType(DataTypes.FloatType, false), true)
            .add("error_class", DataTypes.StringType, true)
            .add("http_status", DataTypes.IntegerType, true)
            .add("request_id", DataTypes.StringType, true)
            .add("message", DataTypes.StringType, true);

    private BatchEmbed() {}

    /** The result rows (null after a submit-only run), the runner (to mark its batches committed) and the pending count. */
    record Outcome(JavaRDD<ChunkResult> results, BatchRunner runner, BatchRunner.Summary summary) {}

    static Outcome run(SparkSession spark, JavaRDD<HashGroup> groups, EmbedpipeConfig config, ModelInfo model, String output,
                       String runId, BatchRunner.Step step, String answersPath, ProgressReporter progress) {
        org.apache.hadoop.conf.Configuration conf = spark.sparkContext().hadoopConfiguration();
        List<BatchJournal> earlier = BatchJournal.open(output, conf);
        Set<String> journaled = BatchRunner.journaledHashes(earlier);
        if (!earlier.isEmpty()) {
            LOG.info("embedpipe: attaching to {} journaled batch(es) carrying {} texts", earlier.stream().mapToLong(j -> j.open().size()).sum(),
                    journaled.size());
        }
        BatchJournal journal = BatchJournal.create(output, runId, conf);
        EmbedpipeConfig cfg = config;
        EmbedpipeConfig.Embedder embedder = new OpenAiProvider().resolved(config).embedder();
        String shortRun = runId.substring(runId.lastIndexOf('-') + 1);
        // texts an earlier run's batches carry are collected from those batches, never requested again
        org.apache.spark.broadcast.Broadcast<Set<String>> skip = JavaSparkContext.fromSparkContext(spark.sparkContext()).broadcast(journaled);
        JavaRDD<BatchRequest> requests = groups.filter(g -> !g.hit() && !skip.value().contains(g.contentHash()))
                .map(HashGroup::representative)
                .mapPartitionsWithIndex((partition, chunks) -> lines(chunks, cfg, embedder, shortRun + "-" + partition), false);

        AnswerWriter answers = new AnswerWriter(spark, answersPath);
        BatchRunner runner = new BatchRunner(new BatchApi(config), config, journal, earlier,
                model.dimensions() > 0 ? model.dimensions() : null,
                EmbedStep.tokenCap(config, config.cost().batchUsdPerMillionTokens()), answers,
                line -> {
                    LOG.info("embedpipe: {}", line);
                    progress.phase("embed (" + line + ")");
                }, d -> Thread.sleep(d.toMillis()));
        BatchRunner.Summary summary;
        try {
            summary = runner.run(requests.toLocalIterator(), step);
        } finally {
            answers.close();
        }
        if (step == BatchRunner.Step.SUBMIT_ONLY) {
            return new Outcome(null, runner, summary);
        }
        return new Outcome(results(spark, groups, answersPath, progress.counters()), runner, summary);
    }

    /** One partition's representatives packed into request lines, as the live path packs its requests. */
    private static Iterator<BatchRequest> lines(Iterator<Chunk> chunks, EmbedpipeConfig cfg, EmbedpipeConfig.Embedder embedder,
                                                String prefix) {
        RequestPacker packer = new RequestPacker(chunks, Math.min(cfg.limits().maxInputsPerRequest(), cfg.limits().batchMaxInputs()),
                cfg.limits().maxTokensPerRequest());
        return new Iterator<>() {
            private List<Chunk> next = packer.next();
            private int sequence;

            @Override
            public boolean hasNext() {
                return next != null;
            }

            @Override
            public BatchRequest next() {
                List<Chunk> request = next;
                next = packer.next();
                List<String> hashes = new ArrayList<>(request.size());
                List<String> texts = new ArrayList<>(request.size());
                long tokens = 0;
                for (Chunk c : request) {
                    hashes.add(c.contentHash());
                    texts.add(c.text());
                    tokens += c.tokenCount();
                }
                return BatchRequest.of(prefix + "-" + sequence++, hashes, texts, tokens, embedder);
            }
        };
    }

    /** Every missing group with its answer: the representative embedded, the others reusing it, or all with the error. */
    private static JavaRDD<ChunkResult> results(SparkSession spark, JavaRDD<HashGroup> groups, String answersPath,
                                                ProgressCounters counters) {
        JavaPairRDD<String, Row> answers = spark.read().schema(ANSWERS).parquet(answersPath).javaRDD()
                .mapToPair(r -> new Tuple2<>(r.getString(0), r));
        return groups.filter(g -> !g.hit()).mapToPair(g -> new Tuple2<>(g.contentHash(), g)).cogroup(answers).flatMap(keyed -> {
            Iterator<HashGroup> group = keyed._2()._1().iterator();
            if (!group.hasNext()) {
                return java.util.Collections.<ChunkResult>emptyIterator(); // an earlier run's answer this run does not need
            }
            HashGroup g = group.next();
            Row answer = null;
            for (Row r : keyed._2()._2()) {
                if (answer == null || (answer.isNullAt(1) && !r.isNullAt(1))) {
                    answer = r; // a vector wins over an error for the same text
                }
            }
            float[] vector = null;
            EmbeddingError error;
            if (answer == null) {
                error = new EmbeddingError("batch_pending", 0, 0, null, true, "no answer from the Batch API yet");
            } else if (!answer.isNullAt(1)) {
                List<Float> values = answer.getList(1);
                vector = new float[values.size()];
                for (int i = 0; i < vector.length; i++) {
                    vector[i] = values.get(i);
                }
                error = null;
            } else {
                error = new EmbeddingError(answer.getString(2), answer.isNullAt(3) ? 0 : answer.getInt(3), 1, answer.getString(4),
                        true, answer.getString(5));
            }
            ChunkResult first = vector == null ? ChunkResult.failed(g.representative(), error)
                    : ChunkResult.embedded(g.representative(), vector);
            List<ChunkResult> out = new ArrayList<>(g.chunks().size());
            for (Chunk c : g.chunks()) {
                if (vector == null) {
                    counters.add(Counter.ERRORS, 1);
                } else {
                    counters.add(Counter.EMBEDDED, 1);
                    counters.add(Counter.EMBEDDED_TOKENS, c.tokenCount());
                }
                out.add(c == g.representative() ? first : first.forSameText(c));
            }
            return out.iterator();
        });
    }

    /**
     * The runner's answers by content hash, streamed by the driver into one Parquet file of the staging table (not
     * through a DataFrame built on the driver, which would ship every vector inside a task).
     */
    private static final class AnswerWriter implements BatchRunner.Sink {
        private static final MessageType SCHEMA = MessageTypeParser.parseMessageType("""
                message answer {
                  required binary content_hash (STRING);
                  optional group vector (LIST) {
                    repeated group list {
                      required float element;
                    }
                  }
                  optional binary error_class (STRING);
                  optional int32 http_status;
                  optional binary request_id (STRING);
                  optional binary message (STRING);
                }""");
        private final SimpleGroupFactory groups = new SimpleGroupFactory(SCHEMA);
        private final ParquetWriter<Group> writer;
        private final String path;

        AnswerWriter(SparkSession spark, String path) {
            this.path = path;
            try {
                writer = ExampleParquetWriter.builder(new org.apache.hadoop.fs.Path(path, "part-00000.parquet"))
                        .withConf(spark.sparkContext().hadoopConfiguration()).withType(SCHEMA)
                        .withCompressionCodec(CompressionCodecName.SNAPPY).build();
            } catch (IOException e) {
                throw new UncheckedIOException("cannot write batch answers under " + path, e);
            }
        }

        @Override
        public void vector(String contentHash, float[] vector) {
            Group row = groups.newGroup().append("content_hash", contentHash);
            Group list = row.addGroup("vector");
            for (float x : vector) {
                list.addGroup("list").append("element", x);
            }
            write(row);
        }

        @Override
        public void error(String contentHash, EmbeddingError e) {
            Group row = groups.newGroup().append("content_hash", contentHash).append("error_class", e.errorClass())
                    .append("http_status", e.httpStatus()).append("message", String.valueOf(e.message()));
            if (e.requestId() != null) {
                row.append("request_id", e.requestId());
            }
            write(row);
        }

        private void write(Group row) {
            try {
                writer.write(row);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot write batch answers under " + path, e);
            }
        }

        void close() {
            try {
                writer.close();
            } catch (IOException e) {
                throw new UncheckedIOException("cannot write batch answers under " + path, e);
            }
        }
    }
}
