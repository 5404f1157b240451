package dev.embedpipe.use;

import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Approximate all-pairs scan by random-hyperplane LSH (Charikar's SimHash): each row gets {@code bands x bits}
 * sign bits from Gaussian hyperplanes; two rows are candidates when all the bits of some band agree, and every
 * candidate is checked with its exact cosine, so every pair reported is a true pair (precision 1) and only recall
 * is approximate. A pair at cosine c agrees on one bit with probability {@code p = 1 - acos(c)/pi}, so it is found
 * with probability {@code 1 - (1 - p^bits)^bands}. Per band, rows are grouped by sorting (key, row) as longs; a
 * pair already a candidate in an earlier band is skipped, so each pair is reported once. Memory: one int key per
 * row and band, and one long per row for the band being grouped; never a pair matrix.
 */
public final class LshPairs {
    /** The recall at the threshold that {@link #forThreshold} aims for. */
    public static final double TARGET_RECALL = 0.99;
    public static final int MAX_BANDS = 64;

    private final int bits;
    private final int bands;
    private final long seed;

    public LshPairs(int bits, int bands, long seed) {
        if (bits < 1 || bits > 31 || bands < 1) {
            throw new IllegalArgumentException("bits must be 1..31 and bands at least 1");
        }
        this.bits = bits;
        this.bands = bands;
        this.seed = seed;
    }

    /**
     * The most selective parameters (most bits per band, so fewest candidates) that still find a pair exactly at
     * the threshold with probability {@link #TARGET_RECALL} in at most {@link #MAX_BANDS} bands.
     */
    public static LshPairs forThreshold(double threshold, long seed) {
        double p = 1 - Math.acos(Math.max(-1, Math.min(1, threshold))) / Math.PI;
        for (int bits = 16; bits >= 2; bits--) {
            double hit = Math.pow(p, bits);
            int bands = hit >= 1 ? 1 : (int) Math.ceil(Math.log(1 - TARGET_RECALL) / Math.log(1 - hit));
            if (bands <= MAX_BANDS) {
                return new LshPairs(bits, Math.max(1, bands), seed);
            }
        }
        return new LshPairs(1, MAX_BANDS, seed);
    }

    public int bits() {
        return bits;
    }

    public int bands() {
        return bands;
    }

    /** The probability that a pair at this cosine becomes a candidate. */
    public double expectedRecall(double cosine) {
        double p = 1 - Math.acos(Math.max(-1, Math.min(1, cosine))) / Math.PI;
        return 1 - Math.pow(1 - Math.pow(p, bits), bands);
    }

    /** Every pair found above the threshold, each once, {@code i < j}; returns how many. */
    public long scan(VectorBlock unitRows, float threshold, int threads, PairSink sink) {
        int n = unitRows.size();
        int d = unitRows.dims();
        float[] v = unitRows.vectors();
        float[] planes = new float[bands * bits * d];
        Random random = new Random(seed);
        for (int i = 0; i < planes.length; i++) {
            planes[i] = (float) random.nextGaussian();
        }
        int[] keys = new int[Math.multiplyExact(n, bands)];
        AtomicInteger nextRows = new AtomicInteger();
        int step = 1024;
        PairScan.parallel(threads, (i, j, c) -> {}, buffer -> {
            for (int start = nextRows.getAndAdd(step); start < n; start = nextRows.getAndAdd(step)) {
                for (int row = start; row < Math.min(n, start + step); row++) {
                    for (int band = 0; band < bands; band++) {
                        int key = 0;
                        for (int bit = 0; bit < bits; bit++) {
                            if (Kernels.dot(planes, (band * bits + bit) * d, v, row * d, d) >= 0) {
                                key |= 1 << bit;
                            }
                        }
                        keys[row * bands + band] = key;
                    }
                }
            }
        });
        AtomicInteger nextBand = new AtomicInteger();
        return PairScan.parallel(threads, sink, buffer -> {
            long[] sorted = new long[n];
            for (int band = nextBand.getAndIncrement(); band < bands; band = nextBand.getAndIncrement()) {
                for (int row = 0; row < n; row++) {
                    sorted[row] = ((long) keys[row * bands + band] << 32) | row;
                }
                Arrays.sort(sorted);
                for (int start = 0, end; start < n; start = end) {
                    long key = sorted[start] >>> 32;
                    end = start + 1;
                    while (end < n && sorted[end] >>> 32 == key) {
                        end++;
                    }
                    for (int p = start; p < end; p++) {
                        int i = (int) sorted[p];
                        for (int q = p + 1; q < end; q++) {
                            int j = (int) sorted[q];
                            if (!candidateEarlier(keys, i, j, band)) {
                                buffer.keep(i, j, Kernels.dot(v, i * d, v, j * d, d), threshold);
                            }
                        }
                    }
                }
            }
        });
    }

    private boolean candidateEarlier(int[] keys, int i, int j, int band) {
        for (int b = 0; b < band; b++) {
            if (keys[i * bands + b] == keys[j * bands + b]) {
                return true;
            }
        }
        return false;
    }
}
