package dev.embedpipe.embed;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Splits one window of inputs into model batches by length: positions sorted by token length, then each batch
 * filled while {@code rows × longest member ≤ maxPaddedTokens} and {@code rows ≤ maxRows} (an input longer than the
 * budget goes alone). A model pads every row to the batch's longest, so similar lengths together means less
 * computation spent on padding; large budgets mean bigger, more efficient matrix products for short texts.
 */
public final class PaddedBatchPlan {
    private PaddedBatchPlan() {}

    /** @return batches of positions into {@code lengths}; every position appears in exactly one batch */
    public static List<int[]> plan(int[] lengths, int maxRows, long maxPaddedTokens) {
        Integer[] order = new Integer[lengths.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> Integer.compare(lengths[a], lengths[b])); // stable: ties keep input order
        List<int[]> batches = new ArrayList<>();
        int from = 0;
        while (from < order.length) {
            int to = from + 1;
            // ascending order: the candidate is the batch's longest member
            while (to < order.length && to - from < maxRows
                    && (long) (to - from + 1) * Math.max(1, lengths[order[to]]) <= maxPaddedTokens) {
                to++;
            }
            int[] batch = new int[to - from];
            for (int i = 0; i < batch.length; i++) {
                batch[i] = order[from + i];
            }
            batches.add(batch);
            from = to;
        }
        return batches;
    }

    /** Tokens the model computes on for these batches: rows × the longest member, summed. */
    public static long paddedTokens(int[] lengths, List<int[]> batches) {
        long padded = 0;
        for (int[] batch : batches) {
            int longest = 0;
            for (int position : batch) {
                longest = Math.max(longest, lengths[position]);
            }
            padded += (long) batch.length * longest;
        }
        return padded;
    }
}
