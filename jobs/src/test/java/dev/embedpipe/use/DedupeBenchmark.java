package dev.embedpipe.use;

import java.util.BitSet;
import java.util.HashSet;
import java.util.Locale;
import java.util.Random;
import java.util.Set;

/**
 * Exact vs LSH dedupe on synthetic clustered unit vectors (not a test; {@code jobs/bin/bench-dedupe}): times, pairs,
 * LSH recall against the exact scan over all pairs, and the sampled recall estimate that {@code dedupe} prints.
 * Clusters have spreads from tight to loose, so their pairs fall on both sides of the threshold.
 */
public final class DedupeBenchmark {
    public static void main(String[] args) {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 100_000;
        int d = args.length > 1 ? Integer.parseInt(args[1]) : 384;
        float threshold = args.length > 2 ? Float.parseFloat(args[2]) : 0.95f;
        boolean exact = args.length <= 3 || !args[3].equals("lsh-only");
        int threads = Runtime.getRuntime().availableProcessors();
        VectorBlock b = clusteredWithMixedSpreads(n, d);
        System.out.printf(Locale.ROOT, "%,d x %d unit vectors, threshold %.2f, %d threads%n", n, d, threshold, threads);

        float[] q = b.vectors().clone();
        TopK top = new TopK(10);
        long t0 = System.nanoTime();
        for (int r = 0; r < 20; r++) {
            top.scan(b, java.util.Arrays.copyOfRange(q, r * d, (r + 1) * d), false);
        }
        System.out.printf(Locale.ROOT, "top-10 scan: %.1f ms per query (in memory, one thread)%n", (System.nanoTime() - t0) / 1e6 / 20);

        Set<Long> truth = new HashSet<>();
        if (exact) {
            long start = System.nanoTime();
            long pairs = PairScan.exact(b, threshold, threads, (i, j, c) -> truth.add(Dedupe.key(i, j)));
            System.out.printf(Locale.ROOT, "exact: %,d pairs in %.1f s%n", pairs, (System.nanoTime() - start) / 1e9);
        }
        LshPairs lsh = LshPairs.forThreshold(threshold, 42);
        Set<Long> found = new HashSet<>();
        long start = System.nanoTime();
        long pairs = lsh.scan(b, threshold, threads, (i, j, c) -> found.add(Dedupe.key(i, j)));
        double seconds = (System.nanoTime() - start) / 1e9;
        System.out.printf(Locale.ROOT, "lsh %d bits x %d bands: %,d pairs in %.1f s (expected recall at the threshold %.1f%%)%n",
                lsh.bits(), lsh.bands(), pairs, seconds, lsh.expectedRecall(threshold) * 100);
        if (exact) {
            long hit = found.stream().filter(truth::contains).count();
            System.out.printf(Locale.ROOT, "lsh recall vs exact: %.2f%% (%,d of %,d), false pairs %d%n", 100.0 * hit / truth.size(),
                    hit, truth.size(), found.size() - hit);
        }
        BitSet sample = new BitSet();
        Random random = new Random(7);
        while (sample.cardinality() < Math.min(256, n)) {
            sample.set(random.nextInt(n));
        }
        start = System.nanoTime();
        Set<Long> sampleTruth = Dedupe.exactPairsOf(b, sample, threshold);
        long sampleHit = sampleTruth.stream().filter(found::contains).count();
        System.out.printf(Locale.ROOT, "sampled recall estimate (256 rows): %.2f%% of %,d pairs, in %.1f s%n",
                100.0 * sampleHit / Math.max(1, sampleTruth.size()), sampleTruth.size(), (System.nanoTime() - start) / 1e9);
    }

    /** Clusters of about 5 rows, each with its own spread (0.05 to 0.45 of the centre's norm). */
    static VectorBlock clusteredWithMixedSpreads(int n, int d) {
        Random random = new Random(11);
        int clusters = Math.max(1, n / 5);
        float[] centres = SyntheticVectors.gaussian(random, clusters, d);
        double[] spread = new double[clusters];
        for (int c = 0; c < clusters; c++) {
            spread[c] = 0.05 + 0.4 * random.nextDouble();
        }
        float[] v = new float[n * d];
        for (int i = 0; i < n; i++) {
            int c = random.nextInt(clusters);
            for (int k = 0; k < d; k++) {
                v[i * d + k] = (float) (centres[c * d + k] + spread[c] * random.nextGaussian());
            }
        }
        VectorBlock b = VectorBlock.of(v, d, SyntheticVectors.ids(n));
        b.normalizeRows();
        return b;
    }
}
