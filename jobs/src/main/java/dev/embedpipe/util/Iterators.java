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
}
