package dev.embedpipe.read;

import dev.embedpipe.util.StreamingIterator;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Iterator;

/**
 * Applies {@code input.duplicate_ids} to a partition whose documents arrive sorted by (id, file, offset), so all
 * records of one id are adjacent and the first in input order comes first. Non-document records pass through.
 * <ul>
 *   <li>{@code keep-first}: later documents with a seen id become rejects naming the first one's place;</li>
 *   <li>{@code reject-all}: every document of a repeated id becomes a reject;</li>
 *   <li>{@code allow}: everything passes.</li>
 * </ul>
 */
public final class DuplicateIdFilter extends StreamingIterator<ReadRecord> {
    private final Iterator<ReadRecord> sorted;
    private final String mode;
    private final Deque<ReadRecord> ready = new ArrayDeque<>();
    private Document first;       // first document of the current id (keep-first, reject-all)
    private boolean firstEmitted; // reject-all holds the first back until it knows the id is unique

    public DuplicateIdFilter(Iterator<ReadRecord> sorted, String mode) {
        this.sorted = sorted;
        this.mode = mode;
    }

    @Override
    protected ReadRecord computeNext() {
        while (ready.isEmpty()) {
            if (!sorted.hasNext()) {
                if (first != null && !firstEmitted) {
                    ready.add(first);
                    firstEmitted = true;
                }
                return ready.poll();
            }
            ReadRecord record = sorted.next();
            if (!(record instanceof Document doc) || mode.equals("allow")) {
                ready.add(record);
                continue;
            }
            if (first == null || !first.docId().equals(doc.docId())) {
                if (first != null && !firstEmitted) {
                    ready.add(first); // reject-all: the previous id turned out unique
                }
                first = doc;
                firstEmitted = mode.equals("keep-first");
                if (firstEmitted) {
                    ready.add(doc);
                }
                continue;
            }
            if (mode.equals("reject-all") && !firstEmitted) {
                ready.add(duplicate(first, "duplicate id '" + first.docId() + "' (input.duplicate_ids=reject-all)"));
                firstEmitted = true;
            }
            ready.add(duplicate(doc, mode.equals("keep-first")
                    ? "duplicate id '" + doc.docId() + "', first seen in " + first.sourceFile() + " at byte " + first.byteOffset()
                    : "duplicate id '" + doc.docId() + "' (input.duplicate_ids=reject-all)"));
        }
        return ready.poll();
    }

    private static Reject duplicate(Document doc, String reason) {
        String excerpt = doc.text() == null ? "" : doc.text().substring(0, Math.min(200, doc.text().length()));
        return new Reject(doc.fileIndex(), doc.sourceFile(), doc.splitIndex(), doc.byteOffset(), doc.localLine(), reason, excerpt);
    }
}
