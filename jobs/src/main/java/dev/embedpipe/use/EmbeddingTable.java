package dev.embedpipe.use;

import dev.embedpipe.table.LiveTables;
import dev.embedpipe.config.ConfigException;
import dev.embedpipe.manifest.Manifest;
import dev.embedpipe.manifest.ManifestJson;
import dev.embedpipe.table.DeltaLog;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.hadoop.util.HadoopInputFile;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;

/**
 * A committed run's embeddings table as its manifest describes it: which model embedded it (provider, model,
 * dimensions, tokenizer, hashes), whether its vectors are unit length, how many rows it has, and its data files
 * (either commit layout, through {@link LiveTables#path}; for output.format=delta, the files of the latest
 * version or of {@code --version N}, from the Delta log replayed without Spark by {@link DeltaLog}).
 */
public final class EmbeddingTable {
    private final String output;
    private final Manifest manifest;
    private final Configuration conf;
    /** The Delta version to read; -1 for the latest (and for Parquet output, which has no versions). */
    private final long version;
    private long rows = -1;

    private EmbeddingTable(String output, Manifest manifest, Configuration conf, long version) {
        this.output = output;
        this.manifest = manifest;
        this.conf = conf;
        this.version = version;
    }

    /** @throws ConfigException (exit 2) when {@code output} has no readable manifest or no embeddings table */
    public static EmbeddingTable open(String output, Configuration conf) {
        return open(output, conf, -1);
    }

    /**
     * @param version a Delta table's version, -1 for the latest
     * @throws ConfigException (exit 2) as {@link #open(String, Configuration)}, or for a version of a Parquet table
     */
    public static EmbeddingTable open(String output, Configuration conf, long version) {
        Path path = new Path(output, Manifest.FILE);
        Manifest manifest;
        try (InputStream in = path.getFileSystem(conf).open(path)) {
            manifest = ManifestJson.read(in);
        } catch (IOException e) {
            throw new ConfigException("--table " + output + ": no readable manifest.json (" + e.getClass().getSimpleName() + ")");
        }
        if (manifest.model() == null) {
            throw new ConfigException("--table " + output + ": manifest.json names no model; is this an embed run's output?");
        }
        if (version >= 0) {
            String table = new Path(output, "embeddings").toString();
            if (!DeltaLog.isDeltaTable(table, conf)) {
                throw new ConfigException("--version " + version + ": " + output + " is not a Delta table (output.format=delta)");
            }
            long latest = DeltaLog.open(table, conf).latestVersion();
            if (version > latest) {
                throw new ConfigException("--version " + version + ": the table's latest version is " + latest);
            }
        }
        return new EmbeddingTable(output, manifest, conf, version);
    }

    public String output() {
        return output;
    }

    public Manifest manifest() {
        return manifest;
    }

    public Configuration conf() {
        return conf;
    }

    public String provider() {
        return manifest.model().provider();
    }

    public String model() {
        return manifest.model().model();
    }

    public int dimensions() {
        return manifest.model().dimensions();
    }

    public String tokenizer() {
        return manifest.model().tokenizer().name();
    }

    /**
     * How a local model made the vectors, as the manifest records it; a manifest from before the catalog has no such
     * fields and was made by all-MiniLM-L6-v2 (mean pooling, L2, no prompts).
     */
    public dev.embedpipe.embed.VectorRecipe recipe() {
        Manifest.Model m = manifest.model();
        var legacy = dev.embedpipe.embed.VectorRecipe.MEAN_NORMALIZED;
        var pooling = m.pooling() == null ? legacy.pooling() : dev.embedpipe.embed.VectorRecipe.Pooling.byName(m.pooling());
        return new dev.embedpipe.embed.VectorRecipe(pooling, m.normalize() == null ? legacy.normalize() : m.normalize(),
                Objects.requireNonNullElse(m.documentPrompt(), ""), Objects.requireNonNullElse(m.queryPrompt(), ""));
    }

    /** "provider model (N dims)", for messages. */
    public String describeModel() {
        return provider() + " " + model() + " (" + dimensions() + " dims)";
    }

    /**
     * Whether the manifest says the vectors are unit length (the local model L2-normalises); otherwise scores are
     * cosines computed with each row's norm.
     */
    public boolean normalized() {
        return manifest.model().unitLength();
    }

    /**
     * Rows of the embeddings table, from the Parquet footers (the manifest's {@code outputs.rows} is the embed
     * run's count, which a redrive does not update).
     */
    public long rows() {
        if (rows < 0) {
            long total = 0;
            for (Path file : files()) {
                try (ParquetFileReader reader = ParquetFileReader.open(HadoopInputFile.fromPath(file, conf))) {
                    total += reader.getRecordCount();
                } catch (IOException e) {
                    throw new UncheckedIOException("cannot read the footer of " + file, e);
                }
            }
            rows = total;
        }
        return rows;
    }

    /** The live embeddings table's data files, in name order. */
    public List<Path> files() {
        String table = LiveTables.path(output, "embeddings", conf);
        if (table == null) {
            throw new ConfigException("--table " + output + ": no embeddings table");
        }
        if (DeltaLog.isDeltaTable(table, conf)) {
            return DeltaLog.open(table, conf).liveFiles(version);
        }
        try {
            Path dir = new Path(table);
            FileSystem fs = dir.getFileSystem(conf);
            List<Path> files = new ArrayList<>();
            Arrays.stream(fs.listStatus(dir)).map(FileStatus::getPath).sorted(Comparator.comparing(Path::getName))
                    .filter(p -> p.getName().endsWith(".parquet") && !p.getName().startsWith(".") && !p.getName().startsWith("_"))
                    .forEach(files::add);
            return files;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + table, e);
        }
    }

    /** Streams the table in blocks of {@code blockRows}, reading only {@code columns}. */
    public ParquetVectorReader blocks(List<String> columns, int blockRows) {
        return new ParquetVectorReader(files(), conf, columns, blockRows);
    }
}
