package dev.embedpipe.testing;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.LocalFileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.permission.FsPermission;
import org.apache.hadoop.util.Progressable;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.util.regex.Pattern;

/**
 * The local disk ({@code file:}), except that closing a file whose path matches {@code fs.pause.path} (a regex), once
 * it is whole on disk, writes the file {@code fs.pause.marker} names, then blocks for good: the process stands still
 * at that point so a test can kill it there, e.g. between a Delta commit and the manifest. Test-only; a driver process enables it
 * with {@code -Dspark.hadoop.fs.file.impl=dev.embedpipe.testing.PausingFileSystem} plus the two settings above
 * (as {@code spark.hadoop.fs.pause.*}).
 */
public final class PausingFileSystem extends LocalFileSystem {
    private Pattern pausePath;
    private java.nio.file.Path marker;

    @Override
    public void initialize(URI uri, Configuration conf) throws IOException {
        super.initialize(uri, conf);
        String regex = conf.get("fs.pause.path", "");
        pausePath = regex.isEmpty() ? null : Pattern.compile(regex);
        String markerFile = conf.get("fs.pause.marker", "");
        marker = markerFile.isEmpty() ? null : java.nio.file.Path.of(markerFile);
    }

    @Override
    public FSDataOutputStream create(Path f, FsPermission permission, boolean overwrite, int bufferSize, short replication,
                                     long blockSize, Progressable progress) throws IOException {
        FSDataOutputStream out = super.create(f, permission, overwrite, bufferSize, replication, blockSize, progress);
        String path = f.toUri().getPath();
        if (pausePath == null || !pausePath.matcher(path).matches()) {
            return out;
        }
        return new FSDataOutputStream(out, null) {
            @Override
            public void close() throws IOException {
                super.close(); // the file is whole on disk, as after any completed write
                pause(path);
            }
        };
    }

    private void pause(String path) throws IOException {
        if (marker != null) {
            Files.writeString(marker, path);
        }
        try {
            Thread.sleep(Long.MAX_VALUE); // until the test kills this process
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while paused after writing " + path, e);
        }
    }
}
