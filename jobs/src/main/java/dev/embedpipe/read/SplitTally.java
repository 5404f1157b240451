package dev.embedpipe.read;

/**
 * The counts of one split once it is read: {@code lines = documents + rejected + skipped}.
 * {@code failure} is set when the file could not be opened.
 */
public record SplitTally(
        int fileIndex, int splitIndex, long lines, long documents, long rejected, long skipped, long bytes,
        String failure) implements ReadRecord {}
