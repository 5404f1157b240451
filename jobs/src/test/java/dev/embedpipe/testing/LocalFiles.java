package dev.embedpipe.testing;

import dev.embedpipe.read.RangeOpener;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;

/** Test helpers for local files. */
public final class LocalFiles {
    private LocalFiles() {}

    /** Opens local files at a byte position, as the job's Hadoop opener does on a cluster. */
    public static RangeOpener opener() {
        return (path, position) -> {
            InputStream in = Files.newInputStream(Path.of(path.startsWith("file:") ? java.net.URI.create(path).getPath() : path));
            in.skipNBytes(position);
            return in;
        };
    }

    /** The project folder (set by Maven), for datasets-sample/ and conf/. */
    public static Path projectHome() {
        return Path.of(System.getProperty("embedpipe.home", "..")).toAbsolutePath().normalize();
    }
}
