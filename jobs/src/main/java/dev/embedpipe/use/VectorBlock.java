package dev.embedpipe.use;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Up to {@code capacity} rows of an embeddings table, column by column: the vectors as one contiguous row-major
 * {@code float[]} (row i is {@code vectors[i*dims .. (i+1)*dims)}), string and int columns as plain arrays. Scans
 * run over the float buffer directly, never over per-row objects.
 */
public final class VectorBlock {
    private final int capacity;
    private int dims;
    private float[] vectors;
    private int size;
    final Map<String, String[]> strings = new LinkedHashMap<>();
    final Map<String, int[]> ints = new LinkedHashMap<>();

    VectorBlock(int capacity, int dims) {
        this.capacity = capacity;
        this.dims = dims;
        this.vectors = dims > 0 ? new float[Math.multiplyExact(capacity, dims)] : null;
    }

    /** A block over vectors already in memory (tests, benchmarks), with chunk ids. */
    public static VectorBlock of(float[] vectors, int dims, String[] chunkIds) {
        int n = vectors.length / dims;
        VectorBlock b = new VectorBlock(n, dims);
        System.arraycopy(vectors, 0, b.vectors, 0, vectors.length);
        b.size = n;
        b.strings.put("chunk_id", chunkIds);
        return b;
    }

    public int size() {
        return size;
    }

    public int dims() {
        return dims;
    }

    public int capacity() {
        return capacity;
    }

    boolean full() {
        return size == capacity;
    }

    /** Row-major vectors; only the first {@code size() * dims()} values are rows of this block. */
    public float[] vectors() {
        return vectors;
    }

    /** The column's values (null when the column was not read); only the first {@code size()} are rows. */
    public String[] strings(String column) {
        return strings.get(column);
    }

    public int[] ints(String column) {
        return ints.get(column);
    }

    public String chunkId(int row) {
        return strings.get("chunk_id")[row];
    }

    /** Appends a vector as the next row's; the first vector fixes the block's dimensions. */
    void addVector(float[] source, int length) {
        if (dims == 0) {
            dims = length;
            vectors = new float[Math.multiplyExact(capacity, dims)];
        }
        if (length != dims) {
            throw new IllegalStateException("a vector of " + length + " values in a table of " + dims + " dimensions");
        }
        System.arraycopy(source, 0, vectors, size * dims, dims);
    }

    void endRow() {
        size++;
    }

    /** Empties the block for reuse (its arrays are overwritten row by row). */
    void clear() {
        size = 0;
    }

    String[] stringColumn(String name) {
        return strings.computeIfAbsent(name, n -> new String[capacity]);
    }

    int[] intColumn(String name) {
        return ints.computeIfAbsent(name, n -> new int[capacity]);
    }

    /** Scales every row to unit length (rows of length zero stay zero), for cosine by dot product. */
    public void normalizeRows() {
        for (int i = 0; i < size; i++) {
            int off = i * dims;
            double sum = 0;
            for (int k = 0; k < dims; k++) {
                sum += (double) vectors[off + k] * vectors[off + k];
            }
            if (sum > 0) {
                float scale = (float) (1.0 / Math.sqrt(sum));
                for (int k = 0; k < dims; k++) {
                    vectors[off + k] *= scale;
                }
            }
        }
    }
}
