package dev.embedpipe.read;

import dev.embedpipe.clean.Cleaner;
import dev.embedpipe.util.StreamingIterator;

import java.io.IOException;
import java.io.InputStream;
import java.util.zip.GZIPInputStream;

/**
 * The read stage for one split: streams its lines once, parses and cleans each into a {@link Document} or a
 * {@link Reject}, skips blank lines, and ends with the split's {@link SplitTally}. Nothing here fails the task:
 * a file that cannot be opened or a damaged gzip stream becomes a reject and a tally.
 *
 * <p>A split owns the lines that start in {@code [start, end)}; when it starts mid-line it leaves that line to the
 * split before it, which reads past its end to finish it.
 */
public final class SplitReader extends StreamingIterator<ReadRecord> implements AutoCloseable {
    private static final int EXCERPT_BYTES = 200;
    private static final byte[] BOM = {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF};

    private final SourceSplit split;
    private final RangeOpener opener;
    private final RecordParser parser;
    private final Cleaner cleaner;
    private final long maxLineBytes;

    private InputStream stream;
    private LineReader lines;
    private boolean opened;
    private boolean finished;
    private boolean tallied;
    private long lineCount;
    private long documents;
    private long rejected;
    private long skipped;
    private String failure;

    public SplitReader(SourceSplit split, RangeOpener opener, RecordParser parser, Cleaner cleaner, long maxLineBytes) {
        this.split = split;
        this.opener = opener;
        this.parser = parser;
        this.cleaner = cleaner;
        this.maxLineBytes = maxLineBytes;
    }

    @Override
    protected ReadRecord computeNext() {
        if (!opened) {
            opened = true;
            ReadRecord openFailure = open();
            if (openFailure != null) {
                return openFailure;
            }
        }
        while (!finished) {
            LineReader.Line line;
            try {
                line = lines.next();
            } catch (IOException | RuntimeException e) {
                // Damaged compressed data: the lines before count, the damage is one reject.
                finish();
                lineCount++;
                rejected++;
                return reject(lines.position(), lineCount, "unreadable data (" + (split.gzip() ? "corrupt or truncated gzip" : "read error")
                        + "): " + e.getClass().getSimpleName() + ": " + e.getMessage(), "");
            }
            if (line == null || line.offset >= split.end()) {
                finish();
                break;
            }
            lineCount++;
            ReadRecord record = toRecord(line);
            if (record != null) {
                return record;
            }
        }
        if (!tallied) {
            tallied = true;
            return new SplitTally(split.fileIndex(), split.splitIndex(), lineCount, documents, rejected, skipped,
                    lines == null ? 0 : lines.position() - split.start(), failure);
        }
        return null;
    }

    private ReadRecord open() {
        try {
            long position = split.start() == 0 ? 0 : split.start() - 1;
            InputStream raw = opener.open(split.path(), position);
            // No BufferedInputStream around the gzip stream: when the data is damaged it would drop the bytes it
            // had already inflated along with the exception. LineReader buffers anyway.
            stream = split.gzip() ? new GZIPInputStream(raw, 1 << 16) : raw;
            lines = new LineReader(stream, position, maxLineBytes);
            if (split.start() > 0 && !lines.skipPastNewline()) {
                finish(); // the split begins inside the file's last line, which belongs to the split before
            }
            return null;
        } catch (IOException | RuntimeException e) {
            failure = "cannot open: " + e.getClass().getSimpleName() + ": " + e.getMessage();
            finish();
            rejected++;
            lineCount++;
            return reject(split.start(), 0, failure, "");
        }
    }

    private ReadRecord toRecord(LineReader.Line line) {
        int from = 0;
        if (line.offset == 0 && line.length >= 3 && line.bytes[0] == BOM[0] && line.bytes[1] == BOM[1] && line.bytes[2] == BOM[2]) {
            from = 3;
        }
        if (line.oversize()) {
            rejected++;
            return reject(line.offset, lineCount, "line of " + line.totalLength + " bytes exceeds input.max_line_bytes ("
                    + maxLineBytes + ")", excerpt(line, from));
        }
        if (isBlank(line.bytes, from, line.length)) {
            skipped++;
            return null;
        }
        byte[] bytes = line.bytes;
        int length = line.length;
        if (from > 0) {
            bytes = java.util.Arrays.copyOfRange(line.bytes, from, line.length);
            length = bytes.length;
        }
        RecordParser.Parsed parsed = parser.parse(bytes, length);
        if (parsed.rejectReason() != null) {
            rejected++;
            return reject(line.offset, lineCount, parsed.rejectReason(), excerpt(line, from));
        }
        documents++;
        String cleaned = cleaner.clean(parsed.text());
        String filterReason = cleaner.filterReason(cleaned);
        return filterReason == null
                ? new Document(parsed.id(), cleaned, parsed.metadata(), split.fileIndex(), split.path(), split.splitIndex(),
                        line.offset, lineCount, null)
                : new Document(parsed.id(), null, null, split.fileIndex(), split.path(), split.splitIndex(),
                        line.offset, lineCount, filterReason);
    }

    private Reject reject(long offset, long localLine, String reason, String excerpt) {
        return new Reject(split.fileIndex(), split.path(), split.splitIndex(), offset, localLine, reason, excerpt);
    }

    private static String excerpt(LineReader.Line line, int from) {
        return Utf8.excerpt(java.util.Arrays.copyOfRange(line.bytes, from, line.length), line.length - from, EXCERPT_BYTES);
    }

    private static boolean isBlank(byte[] bytes, int from, int to) {
        for (int i = from; i < to; i++) {
            byte b = bytes[i];
            if (b != ' ' && b != '\t' && b != '\r' && b != '\f') {
                return false;
            }
        }
        return true;
    }

    private void finish() {
        finished = true;
        close();
    }

    @Override
    public void close() {
        if (stream != null) {
            try {
                stream.close();
            } catch (IOException e) {
                // read-only stream: nothing is lost when closing fails
            } finally {
                stream = null;
            }
        }
    }
}
