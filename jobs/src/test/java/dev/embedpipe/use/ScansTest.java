package dev.embedpipe.use;

import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** The top-k and pair scans against brute force, without Spark or files. */
class ScansTest {
    @Test
    void topKOverSeveralBlocksEqualsABruteForceRanking() {
        Random random = new Random(1);
        int d = 37;
        for (boolean unitRows : new boolean[] {true, false}) {
            List<VectorBlock> blocks = new ArrayList<>();
            List<double[]> all = new ArrayList<>();
            List<String> ids = new ArrayList<>();
            for (int size : new int[] {1000, 517, 3}) {
                float[] v = SyntheticVectors.gaussian(random, size, d);
                String[] blockIds = new String[size];
                for (int i = 0; i < size; i++) {
                    blockIds[i] = "id" + ids.size();
                    ids.add(blockIds[i]);
                }
                VectorBlock b = VectorBlock.of(v, d, blockIds);
                if (unitRows) {
                    b.normalizeRows();
                }
                for (int i = 0; i < size; i++) {
                    double[] row = new double[d];
                    for (int k = 0; k < d; k++) {
                        row[k] = b.vectors()[i * d + k];
                    }
                    all.add(row);
                }
                blocks.add(b);
            }
            float[] q = Kernels.unit(SyntheticVectors.gaussian(random, 1, d));
            TopK top = new TopK(25);
            blocks.forEach(b -> top.scan(b, q, !unitRows));

            Map<String, Double> cosine = new HashMap<>();
            for (int i = 0; i < all.size(); i++) {
                double dot = 0;
                double norm = 0;
                for (int k = 0; k < d; k++) {
                    dot += all.get(i)[k] * q[k];
                    norm += all.get(i)[k] * all.get(i)[k];
                }
                cosine.put(ids.get(i), dot / Math.sqrt(norm));
            }
            List<String> expected = ids.stream().sorted(Comparator.comparingDouble((String id) -> -cosine.get(id))).limit(25).toList();
            List<TopK.Hit> hits = top.best();
            assertEquals(expected, hits.stream().map(TopK.Hit::chunkId).toList(), unitRows ? "unit rows" : "cosine");
            hits.forEach(h -> assertEquals(cosine.get(h.chunkId()), h.score(), 1e-5));
        }
    }

    @Test
    void mergingPerPartitionTopKListsEqualsOneScan() {
        Random random = new Random(2);
        VectorBlock all = VectorBlock.of(SyntheticVectors.gaussian(random, 900, 16), 16, SyntheticVectors.ids(900));
        all.normalizeRows();
        float[] q = Kernels.unit(SyntheticVectors.gaussian(random, 1, 16));
        TopK whole = new TopK(7);
        whole.scan(all, q, false);
        List<TopK.Hit> perPartition = new ArrayList<>();
        for (int p = 0; p < 3; p++) {
            float[] part = java.util.Arrays.copyOfRange(all.vectors(), p * 300 * 16, (p + 1) * 300 * 16);
            VectorBlock b = VectorBlock.of(part, 16, java.util.Arrays.copyOfRange(SyntheticVectors.ids(900), p * 300, (p + 1) * 300));
            TopK t = new TopK(7);
            t.scan(b, q, false);
            perPartition.addAll(t.best());
        }
        assertEquals(whole.best(), TopK.merge(7, perPartition));
    }

    @Test
    void exactPairScanEqualsBruteForceOnOddSizesWithEitherKernelAndOneOrTwoThreads() {
        // 1,203 rows: not a multiple of the tile, of the 2-row or of the 4-column step; clusters give many pairs
        VectorBlock b = SyntheticVectors.clustered(3, 1203, 24, 150, 0.35);
        Set<Long> expected = SyntheticVectors.bruteForcePairs(b, 0.9, 0);
        assertThat(expected.size()).as("the data has pairs to find").isGreaterThan(500);
        assertThat(PairScan.SIMD).as("surefire adds the Vector API module").isTrue();
        for (int threads : new int[] {1, 2, 3}) {
            boolean simd = threads != 3; // the scalar kernel, for JVMs without the module
            Set<Long> found = new HashSet<>();
            long count = PairScan.exact(b, 0.9f, Math.min(threads, 2), (i, j, c) -> {
                assertThat(i).isLessThan(j);
                assertThat(found.add(Dedupe.key(i, j))).as("each pair once").isTrue();
                assertEquals(SyntheticVectors.dot(b, i, j), c, 1e-5);
            }, simd);
            assertEquals(found.size(), count);
            Set<Long> borderline = symmetricDifference(found, expected);
            borderline.forEach(k -> assertEquals(0.9, SyntheticVectors.dot(b, (int) (k >>> 32), (int) (long) k), 1e-5,
                    "only pairs within rounding of the threshold may differ"));
        }
    }

    private static Set<Long> symmetricDifference(Set<Long> a, Set<Long> b) {
        Set<Long> out = new HashSet<>(a);
        out.addAll(b);
        Set<Long> both = new HashSet<>(a);
        both.retainAll(b);
        out.removeAll(both);
        return out;
    }

    /**
     * 40,000 vectors: an N x N float matrix would be 6.4 GB, twice the test heap (-Xmx3g). The scan allocates
     * nothing that grows with N on top of the vectors (a fixed pair buffer), and finds the planted duplicates.
     */
    @Test
    void theExactScanNeverHoldsAnNByNMatrix() {
        int n = 40_000;
        int d = 16;
        Random random = new Random(4);
        float[] v = SyntheticVectors.gaussian(random, n, d);
        int[][] planted = {{17, 39_999}, {5_000, 5_001}, {123, 31_000}};
        for (int[] p : planted) {
            for (int k = 0; k < d; k++) {
                v[p[1] * d + k] = v[p[0] * d + k] + 0.001f * (float) random.nextGaussian();
            }
        }
        VectorBlock b = VectorBlock.of(v, d, SyntheticVectors.ids(n));
        b.normalizeRows();
        assertThat((long) n * n * Float.BYTES).isGreaterThan(Runtime.getRuntime().maxMemory());

        var threadBean = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long tid = Thread.currentThread().getId();
        Set<Long> found = new HashSet<>();
        long before = threadBean.getThreadAllocatedBytes(tid);
        long pairs = PairScan.exact(b, 0.999f, 1, (i, j, c) -> found.add(Dedupe.key(i, j)));
        long allocated = threadBean.getThreadAllocatedBytes(tid) - before;

        Set<Long> expected = new HashSet<>();
        for (int[] p : planted) {
            expected.add(Dedupe.key(p[0], p[1]));
        }
        assertEquals(expected, found);
        assertEquals(3, pairs);
        assertThat(allocated).as("bytes allocated by the scan of %,d pairs", (long) n * (n - 1) / 2).isLessThan(1 << 20);
    }

    @Test
    void lshFindsOnlyTruePairsAndMostOfThem() {
        VectorBlock b = SyntheticVectors.clustered(5, 8000, 64, 400, 0.3);
        float threshold = 0.92f;
        Set<Long> exact = new HashSet<>();
        PairScan.exact(b, threshold, 2, (i, j, c) -> exact.add(Dedupe.key(i, j)));
        LshPairs lsh = LshPairs.forThreshold(threshold, 42);
        Set<Long> found = new HashSet<>();
        long count = lsh.scan(b, threshold, 2, (i, j, c) -> assertThat(found.add(Dedupe.key(i, j))).isTrue());
        assertEquals(found.size(), count);
        assertThat(exact.size()).isGreaterThan(1000);
        Set<Long> falsePositives = new HashSet<>(found);
        falsePositives.removeAll(exact);
        falsePositives.forEach(k -> assertEquals(threshold, SyntheticVectors.dot(b, (int) (k >>> 32), (int) (long) k), 1e-5));
        long hit = found.stream().filter(exact::contains).count();
        assertThat(hit / (double) exact.size()).as("recall of %s", lsh.bits() + "x" + lsh.bands()).isGreaterThan(0.97);
        assertThat(lsh.expectedRecall(threshold)).isGreaterThanOrEqualTo(LshPairs.TARGET_RECALL);
    }
}
