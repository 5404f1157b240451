package dev.embedpipe.read;

import java.io.IOException;
import java.io.InputStream;
import java.io.Serializable;

/** Opens a file's raw bytes at a position; the Spark job passes a Hadoop FileSystem one, tests a local one. */
@FunctionalInterface
public interface RangeOpener extends Serializable {
    InputStream open(String path, long position) throws IOException;
}
