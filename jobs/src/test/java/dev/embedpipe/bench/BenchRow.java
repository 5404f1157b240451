package dev.embedpipe.bench;

/**
 * One line of the results table: what a runner measured, against what limit, and whether the target is met.
 * Runners write these as JSON lines ({@link BenchRows}); {@link BenchReport} turns them into BENCHMARKS.md.
 *
 * @param item       the item number (1 to 8), which orders the table
 * @param name       what was measured, e.g. "Chunker, gsm8k (short documents)"
 * @param measured   the median
 * @param unit       the measured value's unit, e.g. "tokens/s per core"
 * @param limit      what the measured value is compared with (the raw library, the budget...), or null
 * @param limitUnit  its unit (the measured unit when null)
 * @param ratio      measured / limit (or the figure the target is stated in), or null
 * @param target     the target in words, e.g. "ratio >= 0.8", or null for figures without one
 * @param met        whether the target is met; null when there is no target or the run was too short to say
 * @param note       what limits the figure, how it was measured, or why the target is not met
 */
public record BenchRow(int item, String name, double measured, String unit, Double limit, String limitUnit,
                       Double ratio, String target, Boolean met, String note) {

    /** A row with a ratio to a limit, checked against a lowest acceptable ratio. */
    public static BenchRow ratio(int item, String name, double measured, String unit, double limit, String limitUnit,
                                 double minRatio, String note) {
        double ratio = measured / limit;
        return new BenchRow(item, name, measured, unit, limit, limitUnit, ratio, "ratio >= " + minRatio,
                ratio >= minRatio, note);
    }

    /** A figure with a lowest acceptable value and no separate limit. */
    public static BenchRow atLeast(int item, String name, double measured, String unit, double target, String note) {
        return new BenchRow(item, name, measured, unit, target, unit, measured / target,
                String.format(java.util.Locale.ROOT, ">= %,.0f %s", target, unit), measured >= target, note);
    }

    /** A figure reported for information only. */
    public static BenchRow info(int item, String name, double measured, String unit, String note) {
        return new BenchRow(item, name, measured, unit, null, null, null, null, null, note);
    }

    /** The same row with a quick run's caveat: one short iteration says nothing about targets. */
    public BenchRow quick() {
        return new BenchRow(item, name, measured, unit, limit, limitUnit, ratio, target, null,
                "quick run (one short iteration): not a measurement" + (note == null ? "" : "; " + note));
    }
}
