package dev.embedpipe.read;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LineReaderTest {
    private static List<String> lines(String data, long max) throws IOException {
        LineReader reader = new LineReader(new ByteArrayInputStream(data.getBytes(StandardCharsets.UTF_8)), 0, max);
        List<String> out = new ArrayList<>();
        for (LineReader.Line l = reader.next(); l != null; l = reader.next()) {
            out.add(l.offset + ":" + new String(l.bytes, 0, l.length, StandardCharsets.UTF_8) + (l.oversize() ? "!" + l.totalLength : ""));
        }
        return out;
    }

    @Test
    void offsetsLineEndsAndAMissingFinalNewline() throws IOException {
        assertEquals(List.of("0:a", "3:bc", "7:", "8:d"), lines("a\r\nbc\r\n\nd", 1024));
        assertEquals(List.of("0:a"), lines("a\n", 1024));
        assertEquals(List.of(), lines("", 1024));
    }

    @Test
    void anOversizeLineIsConsumedWithoutBeingHeldWhole() throws IOException {
        int max = 2048;
        String big = "x".repeat(5_000_000);
        LineReader reader = new LineReader(new ByteArrayInputStream(("ok\n" + big + "\nafter\n").getBytes(StandardCharsets.US_ASCII)), 0, max);
        assertEquals("ok", new String(reader.next().bytes, 0, 2, StandardCharsets.US_ASCII));
        LineReader.Line line = reader.next();
        assertTrue(line.oversize());
        assertEquals(5_000_000, line.totalLength);
        assertEquals(LineReader.OVERSIZE_KEEP, line.length);
        assertTrue(line.bytes.length <= max * 2, "buffer stayed bounded: " + line.bytes.length);
        LineReader.Line after = reader.next();
        assertFalse(after.oversize());
        assertEquals(3 + 5_000_001, after.offset);
        assertEquals("after", new String(after.bytes, 0, after.length, StandardCharsets.US_ASCII));
    }

    @Test
    void aLineExactlyAtTheLimitIsKept() throws IOException {
        assertEquals(List.of("0:" + "y".repeat(1024)), lines("y".repeat(1024) + "\n", 1024));
        assertEquals(List.of("0:" + "y".repeat(1024) + "!1025"), lines("y".repeat(1025) + "\n", 1024));
    }

    @Test
    void slowStreamsThatReturnFewBytesAtATimeGiveTheSameLines() throws IOException {
        byte[] data = "first line\nsecond\r\nthird".getBytes(StandardCharsets.UTF_8);
        InputStream trickle = new InputStream() {
            int pos;

            @Override
            public int read() {
                return pos < data.length ? data[pos++] & 0xFF : -1;
            }

            @Override
            public int read(byte[] b, int off, int len) {
                if (pos >= data.length) {
                    return -1;
                }
                b[off] = data[pos++];
                return 1;
            }
        };
        LineReader reader = new LineReader(trickle, 0, 1024);
        List<String> out = new ArrayList<>();
        for (LineReader.Line l = reader.next(); l != null; l = reader.next()) {
            out.add(l.offset + ":" + new String(l.bytes, 0, l.length, StandardCharsets.UTF_8));
        }
        assertEquals(List.of("0:first line", "11:second", "19:third"), out);
    }
}
