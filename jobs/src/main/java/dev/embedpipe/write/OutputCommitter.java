package dev.embedpipe.write;

import dev.embedpipe.table.LiveTables;
import dev.embedpipe.manifest.Manifest;
import dev.embedpipe.manifest.ManifestJson;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Publishes a run's tables only when the run is whole, in one of two ways ({@code output.commit}):
 * <ul>
 *   <li>{@code rename} (local disks, HDFS): tables are written under {@code OUTPUT/_staging-RUNID/} (readers skip
 *       names starting with '_') and swapped into {@code OUTPUT/embeddings/} etc. by rename, with the manifest. A
 *       run that dies before the swap leaves the previous output untouched.</li>
 *   <li>{@code manifest} (object stores, where a rename is a copy and never atomic): tables are written once, under
 *       {@code OUTPUT/runs/RUNID/}, and never moved; the run is published by writing {@code OUTPUT/manifest.json}
 *       (one PUT, atomic), which lists every data file of the run under {@code files}. Readers read the files the
 *       manifest lists. Older runs' folders are deleted after the new manifest is in place.</li>
 * </ul>
 * {@code auto} picks {@code manifest} for s3a, gs, abfs and the like, {@code rename} otherwise.
 */
public final class OutputCommitter {
    public static final List<String> TABLES = List.of("embeddings", "rejects", "errors");
    public static final String MANIFEST = Manifest.FILE;
    public static final String RUNS = "runs";
    private static final Set<String> OBJECT_STORES = Set.of("s3", "s3a", "s3n", "gs", "abfs", "abfss", "wasb", "wasbs", "oss", "cos", "cosn");

    private final FileSystem fs;
    private final Path output;
    private final Path staging;
    private final String runId;
    private final boolean manifestMode;

    public OutputCommitter(String output, String runId, Configuration conf) {
        this(output, runId, conf, "auto");
    }

    public OutputCommitter(String output, String runId, Configuration conf, String mode) {
        try {
            this.output = new Path(output);
            this.fs = this.output.getFileSystem(conf);
            this.runId = runId;
            String scheme = fs.getUri().getScheme() == null ? "" : fs.getUri().getScheme().toLowerCase(Locale.ROOT);
            this.manifestMode = mode.equals("manifest") || (mode.equals("auto") && OBJECT_STORES.contains(scheme));
            this.staging = manifestMode ? new Path(new Path(this.output, RUNS), runId) : new Path(this.output, "_staging-" + runId);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot reach " + output, e);
        }
    }

    public boolean manifestMode() {
        return manifestMode;
    }

    public String stagingTable(String table) {
        return new Path(staging, table).toString();
    }

    public String outputPath() {
        return fs.makeQualified(output).toString();
    }

    /** Where a table lands, relative to the output folder, for the manifest. */
    public String publishedTable(String table) {
        return manifestMode ? RUNS + "/" + runId + "/" + table + "/" : table + "/";
    }

    /** The published table of the run in {@code output}, or null: see {@link LiveTables#path}. */
    public static String liveTable(String output, String table, Configuration conf) {
        return LiveTables.path(output, table, conf);
    }

    /** Publishes the staged tables with the manifest, then removes what earlier runs left. */
    public void commit(Manifest manifest) {
        try {
            fs.delete(new Path(staging, "_results"), true);
            if (manifestMode) {
                writeManifest(manifest.withFiles(fileList()));
                for (FileStatus run : fs.listStatus(new Path(output, RUNS))) {
                    if (!run.getPath().getName().equals(runId)) {
                        fs.delete(run.getPath(), true);
                    }
                }
            } else {
                swapTables();
                writeManifest(manifest);
            }
            removeStaleStaging();
            fs.delete(new Path(output, CheckpointWriter.FOLDER), true); // all in the committed table now
        } catch (IOException e) {
            throw new UncheckedIOException("committing " + output + " failed", e);
        }
    }

    private void swapTables() throws IOException {
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
    }

    /** Every data file of each staged table, relative to the output folder, for the manifest's {@code files}. */
    private Map<String, List<String>> fileList() throws IOException {
        Map<String, List<String>> files = new LinkedHashMap<>();
        for (String table : TABLES) {
            Path dir = new Path(staging, table);
            if (!fs.exists(dir)) {
                continue;
            }
            List<String> list = new ArrayList<>();
            for (FileStatus f : fs.listStatus(dir)) {
                String name = f.getPath().getName();
                if (name.endsWith(".parquet") && !name.startsWith(".") && !name.startsWith("_")) {
                    list.add(publishedTable(table) + name);
                }
            }
            files.put(table, list);
        }
        return files;
    }

    private void writeManifest(Manifest manifest) throws IOException {
        String json = ManifestJson.write(manifest);
        Path live = new Path(output, MANIFEST);
        if (manifestMode) {
            // One PUT on an object store: readers see the old manifest or the new one, never a part.
            try (FSDataOutputStream out = fs.create(live, true)) {
                out.write(json.getBytes(StandardCharsets.UTF_8));
            }
            return;
        }
        Path tmp = new Path(staging, MANIFEST);
        try (FSDataOutputStream out = fs.create(tmp, true)) {
            out.write(json.getBytes(StandardCharsets.UTF_8));
        }
        fs.delete(live, false);
        if (!fs.rename(tmp, live)) {
            throw new IOException("cannot move the manifest into " + live);
        }
    }

    /** Drops this run's staging folder after a failure, leaving the previous output as it was. */
    public void abort() {
        try {
            fs.delete(staging, true);
        } catch (IOException e) {
            // best effort: a leftover folder is invisible to readers and removed by the next commit
        }
    }

    private void removeStaleStaging() throws IOException {
        if (!fs.exists(output)) {
            return;
        }
        for (FileStatus child : fs.listStatus(output)) {
            if (child.getPath().getName().startsWith("_staging-")) {
                fs.delete(child.getPath(), true);
            }
        }
    }
}
