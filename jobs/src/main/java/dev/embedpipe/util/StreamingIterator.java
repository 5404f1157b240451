package dev.embedpipe.util;

import java.util.Iterator;
import java.util.NoSuchElementException;

/** An iterator that computes its next element on demand; {@link #computeNext()} returns null at the end. */
public abstract class StreamingIterator<T> implements Iterator<T> {
    private T next;
    private boolean done;

    protected abstract T computeNext();

    @Override
    public final boolean hasNext() {
        if (next == null && !done) {
            next = computeNext();
            done = next == null;
        }
        return next != null;
    }

    @Override
    public final T next() {
        if (!hasNext()) {
            throw new NoSuchElementException();
        }
        T result = next;
        next = null;
        return result;
    }
}
