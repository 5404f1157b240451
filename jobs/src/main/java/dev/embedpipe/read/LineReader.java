package dev.embedpipe.read;

import java.io.IOException;
import java.io.InputStream;

/**
 * Reads '\n'-terminated lines from a byte stream, tracking each line's byte offset, without ever holding more than
 * {@code maxLineBytes} of one line: a longer line is consumed to its end and reported as oversize with only its
 * first bytes kept. A trailing '\r' is dropped. The {@link Line} returned is reused by the next call.
 */
public final class LineReader {
    /** How much of an oversize line is kept for the reject's excerpt. */
    public static final int OVERSIZE_KEEP = 1024;

    private final InputStream in;
    private final int maxLineBytes;
    private final byte[] buffer = new byte[1 << 16];
    private int bufferPos;
    private int bufferLimit;
    private long position;
    private final Line line = new Line();

    public LineReader(InputStream in, long startPosition, long maxLineBytes) {
        this.in = in;
        this.position = startPosition;
        this.maxLineBytes = (int) Math.min(maxLineBytes, Integer.MAX_VALUE - 16);
    }

    /** The offset of the next byte to be read. */
    public long position() {
        return position;
    }

    /** Skips to just after the next '\n'; returns false at the end of the stream. */
    public boolean skipPastNewline() throws IOException {
        while (true) {
            if (bufferPos == bufferLimit && !fill()) {
                return false;
            }
            byte b = buffer[bufferPos++];
            position++;
            if (b == '\n') {
                return true;
            }
        }
    }

    /** The next line, or null at the end of the stream. */
    public Line next() throws IOException {
        line.offset = position;
        line.length = 0;
        line.totalLength = 0;
        boolean any = false;
        while (true) {
            if (bufferPos == bufferLimit && !fill()) {
                if (!any) {
                    return null;
                }
                break; // a last line without '\n'
            }
            any = true;
            int start = bufferPos;
            int end = start;
            while (end < bufferLimit && buffer[end] != '\n') {
                end++;
            }
            append(start, end - start);
            boolean newline = end < bufferLimit;
            bufferPos = newline ? end + 1 : end;
            position += bufferPos - start;
            if (newline) {
                break;
            }
        }
        if (line.length > 0 && line.length == line.totalLength && line.bytes[line.length - 1] == '\r') {
            line.length--;
            line.totalLength--;
        }
        return line;
    }

    private void append(int from, int count) {
        long newTotal = line.totalLength + count;
        int keepLimit = newTotal > maxLineBytes ? OVERSIZE_KEEP : maxLineBytes;
        if (line.length > keepLimit) {
            line.length = keepLimit; // the line just became oversize: keep only its head
        }
        int copy = (int) Math.min(keepLimit - line.length, count);
        if (copy > 0) {
            line.ensureCapacity(line.length + copy);
            System.arraycopy(buffer, from, line.bytes, line.length, copy);
            line.length += copy;
        }
        line.totalLength = newTotal;
    }

    private boolean fill() throws IOException {
        int n = in.read(buffer);
        while (n == 0) {
            n = in.read(buffer);
        }
        if (n < 0) {
            bufferPos = bufferLimit = 0;
            return false;
        }
        bufferPos = 0;
        bufferLimit = n;
        return true;
    }

    /** One line: {@code bytes[0, length)} without the line end; oversize when {@code totalLength > length}. */
    public static final class Line {
        public byte[] bytes = new byte[1024];
        public int length;
        public long totalLength;
        public long offset;

        public boolean oversize() {
            return totalLength > length;
        }

        void ensureCapacity(int needed) {
            if (needed > bytes.length) {
                bytes = java.util.Arrays.copyOf(bytes, Math.max(needed, bytes.length * 2));
            }
        }
    }
}
