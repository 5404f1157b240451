package dev.embedpipe.read;

import java.io.Serializable;

/**
 * A byte range of one input file that one read task streams. Compressed files are one split (a gzip stream cannot be
 * entered in the middle); the work is spread over the cluster after reading, not by the read itself.
 */
public record SourceSplit(int fileIndex, String path, int splitIndex, long start, long end, boolean gzip)
        implements Serializable {}
