package dev.embedpipe.read;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Splits count their lines from 1; a file's real line number is the split's local number plus the lines of the
 * splits before it in the same file, known once every split's tally is in.
 */
public final class LineNumbers implements java.io.Serializable {
    private final HashMap<Long, Long> baseBySplit;

    private LineNumbers(HashMap<Long, Long> baseBySplit) {
        this.baseBySplit = baseBySplit;
    }

    public static LineNumbers fromTallies(List<SplitTally> tallies) {
        Map<Long, Long> linesBySplit = new TreeMap<>();
        for (SplitTally t : tallies) {
            linesBySplit.put(key(t.fileIndex(), t.splitIndex()), t.lines());
        }
        HashMap<Long, Long> bases = new HashMap<>();
        int file = -1;
        long running = 0;
        for (Map.Entry<Long, Long> e : linesBySplit.entrySet()) {
            int f = (int) (e.getKey() >>> 32);
            if (f != file) {
                file = f;
                running = 0;
            }
            bases.put(e.getKey(), running);
            running += e.getValue();
        }
        return new LineNumbers(bases);
    }

    /** The 1-based line number in the file, or 0 when the reject is not a line (a file that cannot be opened). */
    public long lineNumber(Reject reject) {
        if (reject.localLine() == 0) {
            return 0;
        }
        return baseBySplit.getOrDefault(key(reject.fileIndex(), reject.splitIndex()), 0L) + reject.localLine();
    }

    private static long key(int fileIndex, int splitIndex) {
        return ((long) fileIndex << 32) | splitIndex;
    }
}
