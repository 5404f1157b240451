package dev.embedpipe.progress;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/** Wall time per stage of a run, in the order the stages ran, for the manifest's {@code timings_ms.stages}. */
public final class StageTimer {
    private final Map<String, Long> millis = new LinkedHashMap<>();
    private long last = System.nanoTime();

    /** Ends {@code stage} now (it began when the previous one ended); returns all stages so far. */
    public Map<String, Long> done(String stage) {
        long now = System.nanoTime();
        millis.put(stage, (now - last) / 1_000_000);
        last = now;
        return Collections.unmodifiableMap(millis);
    }
}
