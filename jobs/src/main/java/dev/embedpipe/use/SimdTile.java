package dev.embedpipe.use;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link PairScan}'s tile kernel on SIMD registers (the JDK's incubating Vector API: AVX2/AVX-512, NEON): 2 rows x
 * 4 columns of fused multiply-adds a lane-width of dimensions at a time. Loaded only when the JVM has the
 * {@code jdk.incubator.vector} module (the launcher, spark-submit and the tests add it); otherwise the scalar kernel
 * runs.
 */
final class SimdTile {
    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;

    private SimdTile() {}

    static void tile(float[] v, int d, int i0, int i1, int j0, int j1, float threshold, PairScan.Buffer out) {
        int lanes = SPECIES.length();
        int bound = SPECIES.loopBound(d);
        for (int i = i0; i < i1; i += 2) {
            boolean two = i + 1 < i1;
            int a0 = i * d;
            int a1 = two ? a0 + d : a0;
            int j = Math.max(j0, i + 1);
            for (; j + 3 < j1; j += 4) {
                int b0 = j * d;
                int b1 = b0 + d;
                int b2 = b1 + d;
                int b3 = b2 + d;
                FloatVector s00 = FloatVector.zero(SPECIES), s01 = s00, s02 = s00, s03 = s00;
                FloatVector s10 = s00, s11 = s00, s12 = s00, s13 = s00;
                int k = 0;
                for (; k < bound; k += lanes) {
                    FloatVector x0 = FloatVector.fromArray(SPECIES, v, a0 + k);
                    FloatVector x1 = FloatVector.fromArray(SPECIES, v, a1 + k);
                    FloatVector y0 = FloatVector.fromArray(SPECIES, v, b0 + k);
                    FloatVector y1 = FloatVector.fromArray(SPECIES, v, b1 + k);
                    FloatVector y2 = FloatVector.fromArray(SPECIES, v, b2 + k);
                    FloatVector y3 = FloatVector.fromArray(SPECIES, v, b3 + k);
                    s00 = x0.fma(y0, s00);
                    s01 = x0.fma(y1, s01);
                    s02 = x0.fma(y2, s02);
                    s03 = x0.fma(y3, s03);
                    s10 = x1.fma(y0, s10);
                    s11 = x1.fma(y1, s11);
                    s12 = x1.fma(y2, s12);
                    s13 = x1.fma(y3, s13);
                }
                float r00 = s00.reduceLanes(VectorOperators.ADD), r01 = s01.reduceLanes(VectorOperators.ADD);
                float r02 = s02.reduceLanes(VectorOperators.ADD), r03 = s03.reduceLanes(VectorOperators.ADD);
                float r10 = s10.reduceLanes(VectorOperators.ADD), r11 = s11.reduceLanes(VectorOperators.ADD);
                float r12 = s12.reduceLanes(VectorOperators.ADD), r13 = s13.reduceLanes(VectorOperators.ADD);
                for (; k < d; k++) {
                    r00 += v[a0 + k] * v[b0 + k];
                    r01 += v[a0 + k] * v[b1 + k];
                    r02 += v[a0 + k] * v[b2 + k];
                    r03 += v[a0 + k] * v[b3 + k];
                    r10 += v[a1 + k] * v[b0 + k];
                    r11 += v[a1 + k] * v[b1 + k];
                    r12 += v[a1 + k] * v[b2 + k];
                    r13 += v[a1 + k] * v[b3 + k];
                }
                out.keep(i, j, r00, threshold);
                out.keep(i, j + 1, r01, threshold);
                out.keep(i, j + 2, r02, threshold);
                out.keep(i, j + 3, r03, threshold);
                if (two) {
                    out.keep(i + 1, j, r10, threshold);
                    out.keep(i + 1, j + 1, r11, threshold);
                    out.keep(i + 1, j + 2, r12, threshold);
                    out.keep(i + 1, j + 3, r13, threshold);
                }
            }
            PairScan.remainderColumns(v, d, i, two, j, j1, threshold, out);
        }
    }
}
