package dev.embedpipe.write;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * A run writes its tables under {@code OUTPUT/_staging-RUNID/} (readers skip names starting with '_') and only
 * when everything is written swaps them into {@code OUTPUT/} by rename, replacing the previous run's tables and
 * manifest as a whole. A run that dies before the swap leaves the previous output untouched.
 */
public final class OutputCommitter {
    public static final List<String> TABLES = List.of("embeddings", "rejects", "errors");
    public static final String MANIFEST = "manifest.json";

    private final FileSystem fs;
    private final Path output;
    private final Path staging;

    public OutputCommitter(String output, String runId, Configuration conf) {
        try {
            this.output = new Path(output);
            this.fs = this.output.getFileSystem(conf);
            this.staging = new Path(this.output, "_staging-" + runId);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot reach " + output, e);
        }
    }

    public String stagingTable(String table) {
        return new Path(staging, table).toString();
    }

    public String outputPath() {
        return fs.makeQualified(output).toString();
    }

    /** Swaps the staged tables and the manifest into place, then removes what the previous run left. */
    public void commit(String manifestJson) {
        try {
            Path old = new Path(staging, "_previous");
            fs.mkdirs(old);
            for (String table : TABLES) {
                if (!fs.exists(new Path(staging, table))) {
                    continue; // a redrive rewrites some tables and keeps the others
                }
                Path live = new Path(output, table);
                if (fs.exists(live) && !fs.rename(live, new Path(old, table))) {
                    throw new IOException("cannot move the previous " + live + " aside");
                }
                if (!fs.rename(new Path(staging, table), live)) {
                    throw new IOException("cannot move the new " + table + " into " + live);
                }
            }
            Path tmpManifest = new Path(staging, MANIFEST);
            try (FSDataOutputStream out = fs.create(tmpManifest, true)) {
                out.write(manifestJson.getBytes(StandardCharsets.UTF_8));
            }
            Path liveManifest = new Path(output, MANIFEST);
            fs.delete(liveManifest, false);
            if (!fs.rename(tmpManifest, liveManifest)) {
                throw new IOException("cannot move the manifest into " + liveManifest);
            }
            removeStaleStaging();
            fs.delete(new Path(output, CheckpointWriter.FOLDER), true); // all in the committed table now
        } catch (IOException e) {
            throw new UncheckedIOException("committing " + output + " failed", e);
        }
    }

    /** Drops this run's staging folder after a failure, leaving the previous output as it was. */
    public void abort() {
        try {
            fs.delete(staging, true);
        } catch (IOException e) {
            // best effort: a leftover '_staging-' folder is invisible to readers and removed by the next commit
        }
    }

    private void removeStaleStaging() throws IOException {
        for (FileStatus child : fs.listStatus(output)) {
            if (child.getPath().getName().startsWith("_staging-")) {
                fs.delete(child.getPath(), true);
            }
        }
    }
}
