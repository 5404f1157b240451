package dev.embedpipe.read;

/**
 * An input line that cannot become a document, with where it is and why.
 *
 * @param localLine 1-based line number within its split (0 when the damage is not a line, e.g. an unreadable file)
 */
public record Reject(
        int fileIndex,
        String sourceFile,
        int splitIndex,
        long byteOffset,
        long localLine,
        String reason,
        String excerpt) implements ReadRecord {}
