package dev.embedpipe.use;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Exact all-pairs cosine scan over unit-length rows, tile by tile: {@code TILE x TILE} row blocks of the one
 * contiguous vector buffer, each tile computed by a 2x4 register kernel and its pairs above the threshold handed
 * on at once. No score matrix exists: beyond the vectors themselves the scan holds a pair buffer per thread.
 */
public final class PairScan {
    /** Rows per tile side: two tiles of 384-dim floats (2 x 384 KiB) stay in a core's L2 cache. */
    public static final int TILE = 256;
    /** Pairs a thread buffers before handing them to the sink. */
    static final int BUFFER = 4096;

    /** Whether the SIMD kernel runs: the JVM has the Vector API module (and -Dembedpipe.simd=false is not set). */
    public static final boolean SIMD = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent()
            && !"false".equals(System.getProperty("embedpipe.simd"));

    private PairScan() {}

    /**
     * Every pair {@code i < j} with {@code dot(v_i, v_j) >= threshold}; returns how many. {@code threads} 1 runs on
     * the calling thread.
     */
    public static long exact(VectorBlock unitRows, float threshold, int threads, PairSink sink) {
        return exact(unitRows, threshold, threads, sink, SIMD);
    }

    static long exact(VectorBlock unitRows, float threshold, int threads, PairSink sink, boolean simd) {
        int n = unitRows.size();
        int tiles = (n + TILE - 1) / TILE;
        AtomicInteger nextTileRow = new AtomicInteger();
        return parallel(threads, sink, buffer -> {
            for (int ti = nextTileRow.getAndIncrement(); ti < tiles; ti = nextTileRow.getAndIncrement()) {
                for (int tj = ti; tj < tiles; tj++) {
                    int i0 = ti * TILE;
                    int j0 = tj * TILE;
                    if (simd) {
                        SimdTile.tile(unitRows.vectors(), unitRows.dims(), i0, Math.min(n, i0 + TILE), j0, Math.min(n, j0 + TILE), threshold, buffer);
                    } else {
                        tile(unitRows.vectors(), unitRows.dims(), i0, Math.min(n, i0 + TILE), j0, Math.min(n, j0 + TILE), threshold, buffer);
                    }
                }
            }
        });
    }

    /** The pairs of rows [i0,i1) x [j0,j1) with i < j above the threshold (scalar kernel). */
    static void tile(float[] v, int d, int i0, int i1, int j0, int j1, float threshold, Buffer out) {
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
                float s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
                for (int k = 0; k < d; k++) {
                    float x0 = v[a0 + k];
                    float x1 = v[a1 + k];
                    float y0 = v[b0 + k];
                    float y1 = v[b1 + k];
                    float y2 = v[b2 + k];
                    float y3 = v[b3 + k];
                    s00 += x0 * y0;
                    s01 += x0 * y1;
                    s02 += x0 * y2;
                    s03 += x0 * y3;
                    s10 += x1 * y0;
                    s11 += x1 * y1;
                    s12 += x1 * y2;
                    s13 += x1 * y3;
                }
                out.keep(i, j, s00, threshold);
                out.keep(i, j + 1, s01, threshold);
                out.keep(i, j + 2, s02, threshold);
                out.keep(i, j + 3, s03, threshold);
                if (two) {
                    out.keep(i + 1, j, s10, threshold);
                    out.keep(i + 1, j + 1, s11, threshold);
                    out.keep(i + 1, j + 2, s12, threshold);
                    out.keep(i + 1, j + 3, s13, threshold);
                }
            }
            remainderColumns(v, d, i, two, j, j1, threshold, out);
        }
    }

    /** The columns [j, j1) left after the 4-column steps, for row i (and i + 1). */
    static void remainderColumns(float[] v, int d, int i, boolean two, int j, int j1, float threshold, Buffer out) {
        for (; j < j1; j++) {
            out.keep(i, j, Kernels.dot(v, i * d, v, j * d, d), threshold);
            if (two) {
                out.keep(i + 1, j, Kernels.dot(v, (i + 1) * d, v, j * d, d), threshold);
            }
        }
    }

    /**
     * Runs {@code work} on {@code threads} threads, each with its own pair buffer, and returns the pairs handed to
     * the sink.
     */
    static long parallel(int threads, PairSink sink, java.util.function.Consumer<Buffer> work) {
        AtomicInteger threadNumber = new AtomicInteger();
        Counter counter = new Counter(sink);
        if (threads <= 1) {
            Buffer buffer = new Buffer(counter);
            work.accept(buffer);
            buffer.flush();
            return counter.pairs;
        }
        ExecutorService pool = Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "embedpipe-pairs-" + threadNumber.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                futures.add(pool.submit(() -> {
                    Buffer buffer = new Buffer(counter);
                    work.accept(buffer);
                    buffer.flush();
                }));
            }
            for (Future<?> f : futures) {
                f.get();
            }
            return counter.pairs;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof RuntimeException re ? re : new IllegalStateException(e.getCause());
        } finally {
            pool.shutdownNow();
        }
    }

    /** Serialises the threads' flushes into the sink and counts. */
    private static final class Counter {
        private final PairSink sink;
        private long pairs;

        Counter(PairSink sink) {
            this.sink = sink;
        }

        synchronized void accept(int[] a, int[] b, float[] s, int count) {
            for (int p = 0; p < count; p++) {
                sink.pair(a[p], b[p], s[p]);
            }
            pairs += count;
        }
    }

    /** A thread's pairs on their way to the sink (fixed size: memory does not grow with the pairs found). */
    static final class Buffer {
        private final Counter counter;
        private final int[] a = new int[BUFFER];
        private final int[] b = new int[BUFFER];
        private final float[] s = new float[BUFFER];
        private int count;

        Buffer(Counter counter) {
            this.counter = counter;
        }

        void keep(int i, int j, float score, float threshold) {
            if (score >= threshold && i < j) { // row i + 1 of a 2-row step also meets column i + 1: itself
                a[count] = i;
                b[count] = j;
                s[count] = score;
                if (++count == BUFFER) {
                    flush();
                }
            }
        }

        void flush() {
            if (count > 0) {
                counter.accept(a, b, s, count);
                count = 0;
            }
        }
    }
}
