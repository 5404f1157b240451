package dev.embedpipe.read;

import dev.embedpipe.clean.Cleaner;
import dev.embedpipe.testing.BadLines;
import dev.embedpipe.testing.LocalFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.GZIPOutputStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

class SplitReaderTest {
    @TempDir
    Path dir;

    private static final Cleaner KEEP_ALL = new Cleaner(List.of("nfkc", "drop_control_chars", "collapse_whitespace"), 0);

    private static List<ReadRecord> read(SourceSplit split) {
        List<ReadRecord> out = new ArrayList<>();
        new SplitReader(split, LocalFiles.opener(), new RecordParser("id", "text", 8 << 20), KEEP_ALL, 8 << 20).forEachRemaining(out::add);
        return out;
    }

    private static SourceSplit whole(Path file, boolean gzip) {
        return new SourceSplit(0, file.toString(), 0, 0, Long.MAX_VALUE, gzip);
    }

    @Test
    void everyKindOfLineEndsAsADocumentARejectWithItsReasonOrASkippedBlank() throws IOException {
        Path file = dir.resolve("bad.jsonl");
        Files.write(file, BadLines.bytes());
        List<ReadRecord> records = read(whole(file, false));
        Map<Integer, String> expected = BadLines.expected();

        Map<Long, String> seen = new TreeMap<>();
        for (ReadRecord r : records) {
            if (r instanceof Document d) {
                seen.put(d.localLine(), "doc:" + d.docId());
            } else if (r instanceof Reject j) {
                seen.put(j.localLine(), j.reason());
                assertThat(j.excerpt().length()).isLessThanOrEqualTo(200);
            }
        }
        for (Map.Entry<Integer, String> e : expected.entrySet()) {
            String outcome = seen.get((long) e.getKey());
            if (e.getValue().equals("skip")) {
                assertNull(outcome, "line " + e.getKey() + " is blank and skipped");
            } else {
                assertThat(outcome).as("line " + e.getKey()).contains(e.getValue());
            }
        }
        SplitTally tally = (SplitTally) records.get(records.size() - 1);
        long docs = expected.values().stream().filter(v -> v.startsWith("doc:")).count();
        long skips = expected.values().stream().filter(v -> v.equals("skip")).count();
        assertEquals(expected.size(), tally.lines());
        assertEquals(docs, tally.documents());
        assertEquals(skips, tally.skipped());
        assertEquals(tally.lines(), tally.documents() + tally.rejected() + tally.skipped());
        assertNull(tally.failure());
    }

    @Test
    void idsMetadataAndOffsetsAreKept() throws IOException {
        Path file = dir.resolve("bad.jsonl");
        byte[] bytes = BadLines.bytes();
        Files.write(file, bytes);
        List<Document> docs = read(whole(file, false)).stream().filter(r -> r instanceof Document).map(r -> (Document) r).toList();
        Document j = docs.stream().filter(d -> d.docId().equals("j")).findFirst().orElseThrow();
        assertEquals("{\"lang\":\"en\",\"n\":[1,2]}", j.metadata());
        assertEquals('{', bytes[(int) j.byteOffset()]);
        Document auto = docs.stream().filter(d -> d.docId().startsWith("sha256:")).findFirst().orElseThrow();
        assertEquals(7 + 32, auto.docId().length());
        assertEquals(auto.docId(), read(whole(file, false)).stream().filter(r -> r instanceof Document d && d.docId().startsWith("sha256:"))
                .map(r -> ((Document) r).docId()).findFirst().orElseThrow(), "derived ids are stable");
        assertEquals(0, docs.get(0).byteOffset(), "the BOM belongs to the first line");
        assertEquals(BadLines.GOOD_TEXT, docs.get(0).text());
    }

    @Test
    void splitsOfAFileGiveTheSameRecordsAndLineNumbersAsOneSplit() throws IOException {
        StringBuilder data = new StringBuilder();
        for (int i = 0; i < 3000; i++) {
            if (i % 97 == 0) {
                data.append("broken line ").append(i).append('\n');
            } else if (i % 89 == 0) {
                data.append('\n');
            } else {
                data.append("{\"id\":\"d").append(i).append("\",\"text\":\"").append("word ".repeat(i % 40 + 1)).append("\"}\n");
            }
        }
        Path file = dir.resolve("big.jsonl");
        Files.writeString(file, data);
        long size = Files.size(file);
        List<String> one = positioned(List.of(new SourceSplit(0, file.toString(), 0, 0, Long.MAX_VALUE, false)));
        for (long splitBytes : new long[] {37, 1000, 4096, size - 1, size}) {
            List<SourceSplit> splits = new ArrayList<>();
            int index = 0;
            for (long start = 0; start < size; start += splitBytes) {
                splits.add(new SourceSplit(0, file.toString(), index++, start, Math.min(size, start + splitBytes), false));
            }
            assertEquals(one, positioned(splits), "split size " + splitBytes);
        }
        assertThat(one).hasSize(3000 - 33 + 1); // every line but the 33 blank ones, and the totals line
    }

    /** Every document and reject as "line:offset:what", with file line numbers resolved from the tallies. */
    private static List<String> positioned(List<SourceSplit> splits) {
        List<ReadRecord> all = new ArrayList<>();
        splits.forEach(s -> all.addAll(read(s)));
        List<SplitTally> tallies = all.stream().filter(r -> r instanceof SplitTally).map(r -> (SplitTally) r).toList();
        LineNumbers numbers = LineNumbers.fromTallies(tallies);
        List<String> out = new ArrayList<>();
        for (ReadRecord r : all) {
            if (r instanceof Document d) {
                Reject asPosition = new Reject(d.fileIndex(), d.sourceFile(), d.splitIndex(), d.byteOffset(), d.localLine(), "", "");
                out.add(numbers.lineNumber(asPosition) + ":" + d.byteOffset() + ":" + d.docId());
            } else if (r instanceof Reject j) {
                out.add(numbers.lineNumber(j) + ":" + j.byteOffset() + ":" + j.reason());
            }
        }
        long skipped = tallies.stream().mapToLong(SplitTally::skipped).sum();
        long lines = tallies.stream().mapToLong(SplitTally::lines).sum();
        out.add("lines=" + lines + " skipped=" + skipped);
        return out;
    }

    @Test
    void gzipFilesAreStreamedAndATruncatedOneKeepsTheLinesBeforeTheDamage() throws IOException {
        StringBuilder data = new StringBuilder();
        for (int i = 0; i < 2000; i++) {
            data.append("{\"id\":\"g").append(i).append("\",\"text\":\"gzip line number ").append(i).append(" ").append("pad ".repeat(i % 13)).append("\"}\n");
        }
        ByteArrayOutputStream compressed = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(compressed)) {
            gz.write(data.toString().getBytes(StandardCharsets.UTF_8));
        }
        Path good = dir.resolve("good.jsonl.gz");
        Files.write(good, compressed.toByteArray());
        List<ReadRecord> all = read(whole(good, true));
        assertEquals(2000, all.stream().filter(r -> r instanceof Document).count());

        Path truncated = dir.resolve("truncated.jsonl.gz");
        byte[] bytes = compressed.toByteArray();
        Files.write(truncated, java.util.Arrays.copyOf(bytes, bytes.length / 2));
        List<ReadRecord> partial = read(whole(truncated, true));
        long docs = partial.stream().filter(r -> r instanceof Document).count();
        List<Reject> rejects = partial.stream().filter(r -> r instanceof Reject).map(r -> (Reject) r).toList();
        assertThat(docs).isBetween(500L, 1999L);
        assertThat(rejects).hasSize(1);
        assertThat(rejects.get(0).reason()).contains("corrupt or truncated gzip");
        SplitTally tally = (SplitTally) partial.get(partial.size() - 1);
        assertEquals(tally.lines(), tally.documents() + tally.rejected() + tally.skipped());
        assertEquals(docs, tally.documents());
    }

    @Test
    void aFileThatCannotBeOpenedIsReportedWithItsCause() throws IOException {
        Path missing = dir.resolve("missing.jsonl");
        List<ReadRecord> records = read(whole(missing, false));
        Reject reject = (Reject) records.get(0);
        assertThat(reject.reason()).startsWith("cannot open: ").contains("NoSuchFileException");
        SplitTally tally = (SplitTally) records.get(1);
        assertThat(tally.failure()).startsWith("cannot open: ");

        Path notGzip = dir.resolve("plain.jsonl.gz");
        Files.writeString(notGzip, "{\"id\":\"x\",\"text\":\"y\"}\n");
        assertThat(((Reject) read(whole(notGzip, true)).get(0)).reason()).contains("Not in GZIP format");
    }

    @Test
    void emptyFilesAndOversizeLines() throws IOException {
        Path empty = dir.resolve("empty.jsonl");
        Files.write(empty, new byte[0]);
        List<ReadRecord> records = read(whole(empty, false));
        assertEquals(List.of(new SplitTally(0, 0, 0, 0, 0, 0, 0, null)), records);

        Path big = dir.resolve("big.jsonl");
        Files.writeString(big, "{\"id\":\"x\",\"text\":\"" + "z".repeat(5000) + "\"}\n{\"id\":\"y\",\"text\":\"fine\"}\n");
        List<ReadRecord> out = new ArrayList<>();
        new SplitReader(whole(big, false), LocalFiles.opener(), new RecordParser("id", "text", 1024), KEEP_ALL, 1024).forEachRemaining(out::add);
        assertThat(((Reject) out.get(0)).reason()).isEqualTo("line of 5020 bytes exceeds input.max_line_bytes (1024)");
        assertThat(((Reject) out.get(0)).excerpt()).startsWith("{\"id\":\"x\"").hasSizeLessThanOrEqualTo(200);
        assertEquals("y", ((Document) out.get(1)).docId());
    }
}
