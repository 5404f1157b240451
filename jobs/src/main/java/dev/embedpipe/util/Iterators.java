package dev.embedpipe.util;

import java.util.Iterator;
import java.util.function.Function;

/** Small iterator adapters for the Spark steps (counting records as they stream past). */
public final class Iterators {
    private Iterators() {}

    public static <A, B> Iterator<B> mapped(Iterator<A> in, Function<A, B> f) {
        return new Iterator<>() {
            @Override
            public boolean hasNext() {
                return in.hasNext();
            }

            @Override
            public B next() {
                return f.apply(in.next());
            }
        };
    }

    /** The elements {@code keep} accepts; it may also take the others somewhere else. */
    public static <A> Iterator<A> filtered(Iterator<A> in, java.util.function.Predicate<A> keep) {
        return new StreamingIterator<>() {
            @Override
            protected A computeNext() {
                while (in.hasNext()) {
                    A next = in.next();
                    if (keep.test(next)) {
                        return next;
                    }
                }
                return null;
            }
        };
    }
}
