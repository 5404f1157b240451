package dev.embedpipe.read;

/**
 * One input record, cleaned. A document the cleaner filtered keeps only its identity and position ({@code text}
 * and {@code metadata} null, {@code filterReason} set) so that duplicate-id checks and counts still see it.
 *
 * @param localLine 1-based line number within its split; the file's line number is resolved after reading
 */
public record Document(
        String docId,
        String text,
        String metadata,
        int fileIndex,
        String sourceFile,
        int splitIndex,
        long byteOffset,
        long localLine,
        String filterReason) implements ReadRecord {

    public boolean filtered() {
        return filterReason != null;
    }
}
