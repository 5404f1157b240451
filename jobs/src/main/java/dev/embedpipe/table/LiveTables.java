package dev.embedpipe.table;

import dev.embedpipe.manifest.Manifest;
import dev.embedpipe.manifest.ManifestJson;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * Where an output's live tables are: {@code OUTPUT/<table>} after a rename commit, or the folder the manifest names
 * after a manifest (object-store) commit. Part of the table layout, so readers find tables without the writer's code.
 */
public final class LiveTables {
    private LiveTables() {}

    /**
     * The published table of the run in {@code output} (either layout), or null when there is none: what a
     * redrive or the cache reads.
     */
    public static String path(String output, String table, Configuration conf) {
        try {
            Path out = new Path(output);
            FileSystem fs = out.getFileSystem(conf);
            Path renamed = new Path(out, table);
            if (fs.exists(renamed)) {
                return renamed.toString();
            }
            Path manifest = new Path(out, Manifest.FILE);
            if (!fs.exists(manifest)) {
                return null;
            }
            try (FSDataInputStream in = fs.open(manifest)) {
                Manifest.Outputs outputs = ManifestJson.read(in).outputs();
                String relative = outputs == null ? null : outputs.table(table);
                return relative == null ? null : new Path(out, relative).toString();
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the output at " + output, e);
        }
    }
}
