package dev.embedpipe.bench;

import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * Where runners leave their rows: {@code jobs/target/bench/rows/<runner>.jsonl}, one {@link BenchRow} per line.
 * A runner rewrites its own file, so a rerun replaces its rows and never duplicates them.
 */
public final class BenchRows {
    static final ObjectMapper JSON = new ObjectMapper();

    private BenchRows() {}

    /** jobs/target/bench, whatever the working directory (jobs/bin/bench passes embedpipe.home). */
    public static Path dir() {
        String home = System.getProperty("embedpipe.home");
        return home == null ? Path.of("target", "bench") : Path.of(home, "jobs", "target", "bench");
    }

    /** True when the runner was asked for one short iteration ({@code --quick}). */
    public static boolean quick(String[] args) {
        return List.of(args).contains("--quick");
    }

    public static void write(String runner, List<BenchRow> rows, boolean quick) {
        Path file = dir().resolve("rows").resolve(runner + ".jsonl");
        StringBuilder lines = new StringBuilder();
        try {
            for (BenchRow row : rows) {
                lines.append(JSON.writeValueAsString(quick ? row.quick() : row)).append('\n');
            }
            Files.createDirectories(file.getParent());
            Files.writeString(file, lines);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        rows.forEach(r -> System.out.printf("%s: %s = %.4g %s%s%n", runner, r.name(), r.measured(), r.unit(),
                r.ratio() == null ? "" : String.format(" (ratio %.3f)", r.ratio())));
    }

    /** Every row in the rows folder, ordered by item, then as written. */
    public static List<BenchRow> readAll() {
        Path folder = dir().resolve("rows");
        List<BenchRow> rows = new ArrayList<>();
        if (!Files.isDirectory(folder)) {
            return rows;
        }
        try (Stream<Path> files = Files.list(folder)) {
            for (Path file : files.filter(f -> f.toString().endsWith(".jsonl")).sorted().toList()) {
                for (String line : Files.readAllLines(file)) {
                    if (!line.isBlank()) {
                        rows.add(JSON.readValue(line, BenchRow.class));
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        rows.sort(Comparator.comparingInt(BenchRow::item));
        return rows;
    }

    /** The median of {@code values}. */
    public static double median(long[] values) {
        long[] sorted = values.clone();
        Arrays.sort(sorted);
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0;
    }

    /** Deletes {@code dir} and everything under it, if it exists. */
    public static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted((a, b) -> b.getNameCount() - a.getNameCount()).toList()) {
                Files.delete(p);
            }
        }
    }
}
