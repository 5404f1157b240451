package dev.embedpipe.use;

/** Receives the pairs a dedupe scan finds, by row index ({@code i < j}); called by one thread at a time. */
public interface PairSink {
    void pair(int i, int j, float cosine);
}
