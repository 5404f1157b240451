package dev.embedpipe.use;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.PriorityQueue;

/**
 * The k best-scoring rows seen so far, over any number of {@link VectorBlock}s: one scan over each block's float
 * buffer, a row's strings touched only when it enters the top k. Ties go to the smaller chunk id, so a scan on
 * the driver and a merge of per-partition top-k lists give the same answer.
 */
public final class TopK {
    /** One result. {@code text} and {@code docId} may be null when the scan did not read them. */
    public record Hit(float score, String chunkId, String docId, int chunkIndex, String text) implements Serializable {}

    /** Best first: higher score, then smaller chunk id. */
    public static final Comparator<Hit> BEST_FIRST = Comparator.comparingDouble((Hit h) -> -h.score())
            .thenComparing(Hit::chunkId);

    private final int k;
    private final PriorityQueue<Hit> worstFirst;

    public TopK(int k) {
        if (k < 1) {
            throw new IllegalArgumentException("k must be at least 1");
        }
        this.k = k;
        this.worstFirst = new PriorityQueue<>(k + 1, BEST_FIRST.reversed());
    }

    /**
     * Scores every row of the block against a unit-length query: the dot product, divided by the row's norm when
     * {@code cosine} (rows not stored at unit length).
     */
    public void scan(VectorBlock block, float[] unitQuery, boolean cosine) {
        float[] v = block.vectors();
        int d = block.dims();
        if (d != unitQuery.length) {
            throw new IllegalArgumentException("the query has " + unitQuery.length + " dimensions, the table " + d);
        }
        for (int i = 0, off = 0; i < block.size(); i++, off += d) {
            float score = Kernels.dot(v, off, unitQuery, 0, d);
            if (cosine) {
                float norm = (float) Math.sqrt(Kernels.dot(v, off, v, off, d));
                score = norm == 0 ? 0 : score / norm;
            }
            if (worstFirst.size() < k || score >= worstFirst.peek().score()) {
                offer(new Hit(score, block.chunkId(i), column(block, "doc_id", i), intColumn(block, "chunk_index", i),
                        column(block, "text", i)));
            }
        }
    }

    private static String column(VectorBlock block, String name, int row) {
        String[] values = block.strings(name);
        return values == null ? null : values[row];
    }

    private static int intColumn(VectorBlock block, String name, int row) {
        int[] values = block.ints(name);
        return values == null ? -1 : values[row];
    }

    public void offer(Hit hit) {
        worstFirst.add(hit);
        if (worstFirst.size() > k) {
            worstFirst.poll();
        }
    }

    /** The hits, best first. */
    public List<Hit> best() {
        List<Hit> out = new ArrayList<>(worstFirst);
        out.sort(BEST_FIRST);
        return out;
    }

    /** The k best of several top-k lists (per-partition results). */
    public static List<Hit> merge(int k, Iterable<Hit> hits) {
        TopK top = new TopK(k);
        hits.forEach(top::offer);
        return top.best();
    }
}
