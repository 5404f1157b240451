package dev.embedpipe.read;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

class DuplicateIdFilterTest {
    private static Document doc(String id, int file, long offset) {
        return new Document(id, "text of " + id + "@" + offset, "{}", file, "f" + file, 0, offset, offset + 1, null);
    }

    /** Records sorted by (id, file, offset), as the job's shuffle delivers them. */
    private static final List<ReadRecord> SORTED = List.of(
            new SplitTally(0, 0, 10, 8, 1, 1, 100, null),
            doc("a", 0, 0), doc("a", 0, 50), doc("a", 1, 0),
            doc("b", 0, 10),
            doc("c", 0, 20), doc("c", 1, 5));

    private static List<String> run(String mode) {
        List<String> out = new ArrayList<>();
        new DuplicateIdFilter(SORTED.iterator(), mode).forEachRemaining(r -> out.add(switch (r.getClass().getSimpleName()) {
            case "Document" -> "doc " + ((Document) r).docId() + "@" + ((Document) r).fileIndex() + ":" + ((Document) r).byteOffset();
            case "Reject" -> "reject " + ((Reject) r).fileIndex() + ":" + ((Reject) r).byteOffset() + " " + ((Reject) r).reason();
            default -> "tally";
        }));
        return out;
    }

    @Test
    void keepFirstKeepsTheEarliestInInputOrderAndRejectsTheRest() {
        assertEquals(List.of("tally",
                "doc a@0:0",
                "reject 0:50 duplicate id 'a', first seen in f0 at byte 0",
                "reject 1:0 duplicate id 'a', first seen in f0 at byte 0",
                "doc b@0:10",
                "doc c@0:20",
                "reject 1:5 duplicate id 'c', first seen in f0 at byte 20"), run("keep-first"));
    }

    @Test
    void rejectAllRejectsEveryRecordOfARepeatedId() {
        assertEquals(List.of("tally",
                "reject 0:0 duplicate id 'a' (input.duplicate_ids=reject-all)",
                "reject 0:50 duplicate id 'a' (input.duplicate_ids=reject-all)",
                "reject 1:0 duplicate id 'a' (input.duplicate_ids=reject-all)",
                "doc b@0:10",
                "reject 0:20 duplicate id 'c' (input.duplicate_ids=reject-all)",
                "reject 1:5 duplicate id 'c' (input.duplicate_ids=reject-all)"), run("reject-all"));
    }

    @Test
    void allowPassesEverything() {
        assertEquals(7, run("allow").size());
        assertEquals(0, run("allow").stream().filter(s -> s.startsWith("reject")).count());
    }

    @Test
    void filteredDocumentsStillClaimTheirIdAndAreCountedPerFile() {
        Document filtered = new Document("a", null, null, 0, "f0", 0, 0, 1, "shorter than clean.min_chars");
        List<ReadRecord> in = List.of(filtered, doc("a", 0, 50), doc("b", 1, 0),
                new Document("z", null, null, 1, "f1", 0, 9, 2, "empty after cleaning"));
        List<ReadRecord> out = new ArrayList<>();
        new FilteredCounter(new DuplicateIdFilter(in.iterator(), "keep-first")).forEachRemaining(out::add);
        assertEquals(List.of(
                new Reject(0, "f0", 0, 50, 51, "duplicate id 'a', first seen in f0 at byte 0", "text of a@50"),
                doc("b", 1, 0),
                new FilteredTally(0, 1),
                new FilteredTally(1, 1)), out);
    }
}
