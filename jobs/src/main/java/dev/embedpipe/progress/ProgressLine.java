package dev.embedpipe.progress;

import dev.embedpipe.progress.ProgressCounters;
import dev.embedpipe.progress.ProgressCounters.Counter;

import java.time.Duration;

/**
 * One progress line, from the counters at one moment: what is done, the rate of the current phase since it began,
 * and the time left when the phase's total is known. Plain Java so tests check the arithmetic directly.
 *
 * @param phase          read, chunk, embed or write
 * @param elapsed        since the run began
 * @param phaseElapsed   since the phase began
 * @param values         the counters now ({@link ProgressCounters#value()} layout)
 * @param atPhaseStart   the counters when the phase began
 * @param documentsTotal documents to chunk, known once reading is done (-1 before)
 */
public record ProgressLine(String phase, Duration elapsed, Duration phaseElapsed, long[] values, long[] atPhaseStart,
                           long documentsTotal) {

    public long get(Counter counter) {
        return values[counter.ordinal()];
    }

    /** Chunks finished by the embed phase: embedded, or failed. */
    public long embedDone() {
        return get(Counter.EMBEDDED) + get(Counter.ERRORS);
    }

    /** Per second over the phase so far, of what measures the phase (documents read or chunked, chunks embedded). */
    public double rate() {
        double seconds = phaseElapsed.toMillis() / 1000.0;
        return seconds <= 0 ? 0 : (measured(values) - measured(atPhaseStart)) / seconds;
    }

    /** Time left in the phase at its rate so far; null when the total or the rate is not known yet. */
    public Duration eta() {
        long left = switch (phase) {
            case "chunk" -> documentsTotal < 0 ? -1 : documentsTotal - get(Counter.DOCUMENTS_CHUNKED);
            case "embed" -> get(Counter.TO_EMBED) - embedDone();
            default -> -1;
        };
        double rate = rate();
        if (left < 0 || rate <= 0) {
            return null;
        }
        return Duration.ofSeconds(Math.round(left / rate));
    }

    private long measured(long[] v) {
        return switch (phase) {
            case "read" -> v[Counter.DOCUMENTS.ordinal()];
            case "chunk" -> v[Counter.DOCUMENTS_CHUNKED.ordinal()];
            default -> v[Counter.EMBEDDED.ordinal()] + v[Counter.ERRORS.ordinal()];
        };
    }

    public String format() {
        StringBuilder line = new StringBuilder(String.format("embedpipe: progress %s %s", clock(elapsed), phase));
        line.append(String.format(" | documents %,d", get(Counter.DOCUMENTS)));
        if (documentsTotal >= 0 && phase.equals("chunk")) {
            line.append(String.format(" (chunked %,d/%,d)", get(Counter.DOCUMENTS_CHUNKED), documentsTotal));
        }
        line.append(String.format(" | chunks %,d | tokens %,d", get(Counter.CHUNKS), get(Counter.CHUNK_TOKENS)));
        if (!phase.equals("read") && !phase.equals("chunk")) {
            line.append(String.format(" | embedded %,d/%,d, cached %,d", get(Counter.EMBEDDED), get(Counter.TO_EMBED),
                    get(Counter.CACHED)));
        }
        line.append(String.format(" | %,.1f %s/s", rate(), phase.equals("read") || phase.equals("chunk") ? "documents" : "chunks"));
        line.append(String.format(" | requests %,d (%d in flight) | throttled %.1f s | errors %,d", get(Counter.REQUESTS),
                get(Counter.IN_FLIGHT), get(Counter.THROTTLED_NANOS) / 1e9, get(Counter.ERRORS)));
        if (get(Counter.REJECTED) > 0) {
            line.append(String.format(" | rejected lines %,d", get(Counter.REJECTED)));
        }
        Duration eta = eta();
        line.append(" | ETA ").append(eta == null ? "--" : clock(eta));
        return line.toString();
    }

    static String clock(Duration d) {
        long s = d.toSeconds();
        return s >= 3600 ? String.format("%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String.format("%d:%02d", s / 60, s % 60);
    }
}
