package dev.embedpipe.report;

import dev.embedpipe.manifest.Manifest;

/**
 * The counts of one input file or of the whole run. They reconcile:
 * {@code lines = documents + rejected + skipped}, {@code documents = filtered + chunked},
 * {@code chunks = embedded + cached + errored}.
 */
public final class Counts {
    public long lines;
    public long skipped;
    public long rejected;
    public long filtered;
    public long chunked;
    public long chunks;
    public long embedded;
    public long cached;
    public long errored;
    public long tokens;

    public long documents() {
        return lines - rejected - skipped;
    }

    public boolean reconciles() {
        return lines == documents() + rejected + skipped
                && documents() == filtered + chunked
                && chunks == embedded + cached + errored
                && lines >= 0 && documents() >= 0;
    }

    public void add(Counts other) {
        lines += other.lines;
        skipped += other.skipped;
        rejected += other.rejected;
        filtered += other.filtered;
        chunked += other.chunked;
        chunks += other.chunks;
        embedded += other.embedded;
        cached += other.cached;
        errored += other.errored;
        tokens += other.tokens;
    }

    public long lines() { return lines; }
    public long skipped() { return skipped; }
    public long rejected() { return rejected; }
    public long filtered() { return filtered; }
    public long chunked() { return chunked; }
    public long chunks() { return chunks; }
    public long embedded() { return embedded; }
    public long cached() { return cached; }
    public long errored() { return errored; }
    public long tokens() { return tokens; }

    public Manifest.Counts toManifest() {
        return new Manifest.Counts(lines, documents(), rejected, skipped, filtered, chunked, chunks, embedded, cached,
                errored, tokens, reconciles());
    }
}
