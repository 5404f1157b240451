package dev.embedpipe.use;

import java.util.Random;

/** Random unit vectors for the scans' tests and benchmark, with near-duplicates planted on purpose. */
final class SyntheticVectors {
    private SyntheticVectors() {}

    static float[] gaussian(Random random, int n, int d) {
        float[] v = new float[n * d];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) random.nextGaussian();
        }
        return v;
    }

    /**
     * {@code n} rows in {@code clusters} clusters: each row is its cluster's centre plus Gaussian noise of
     * {@code spread} per unit of the centre's norm, so rows of one cluster have cosines around
     * {@code 1 / (1 + spread^2)}; rows of different clusters are near-orthogonal.
     */
    static VectorBlock clustered(long seed, int n, int d, int clusters, double spread) {
        Random random = new Random(seed);
        float[] centres = gaussian(random, clusters, d);
        float[] v = new float[n * d];
        double noise = spread;
        for (int i = 0; i < n; i++) {
            int c = random.nextInt(clusters);
            for (int k = 0; k < d; k++) {
                v[i * d + k] = (float) (centres[c * d + k] + noise * random.nextGaussian());
            }
        }
        VectorBlock block = VectorBlock.of(v, d, ids(n));
        block.normalizeRows();
        return block;
    }

    static String[] ids(int n) {
        String[] ids = new String[n];
        for (int i = 0; i < n; i++) {
            ids[i] = String.format("c%07d", i);
        }
        return ids;
    }

    /** The exact pairs at or above the threshold, by the plainest double-precision loop. */
    static java.util.Set<Long> bruteForcePairs(VectorBlock b, double threshold, double margin) {
        java.util.Set<Long> pairs = new java.util.HashSet<>();
        for (int i = 0; i < b.size(); i++) {
            for (int j = i + 1; j < b.size(); j++) {
                if (dot(b, i, j) >= threshold + margin) {
                    pairs.add(Dedupe.key(i, j));
                }
            }
        }
        return pairs;
    }

    static double dot(VectorBlock b, int i, int j) {
        double s = 0;
        for (int k = 0; k < b.dims(); k++) {
            s += (double) b.vectors()[i * b.dims() + k] * b.vectors()[j * b.dims() + k];
        }
        return s;
    }
}
