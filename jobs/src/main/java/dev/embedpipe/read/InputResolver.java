package dev.embedpipe.read;

import dev.embedpipe.config.ConfigException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Expands {@code --input} values (files, folders, globs, on any Hadoop file system) into input files in a stable
 * order, and cuts them into splits. Folders that are embedpipe outputs are skipped: a run never reads a run's output. Runs on the driver before Spark starts work; an input that matches nothing is a
 * usage error.
 */
public final class InputResolver {
    private static final List<String> DATA_SUFFIXES = List.of(".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz", ".json", ".json.gz");

    private InputResolver() {}

    /** One input file: its fully qualified path, size in bytes, and whether it is gzip-compressed. */
    public record InputFile(int index, String path, long bytes, boolean gzip) implements java.io.Serializable {}

    /** Tells a folder that is some tool's output (never input); the caller knows what an output looks like. */
    @FunctionalInterface
    public interface OutputTest {
        boolean isOutput(FileSystem fs, Path dir) throws IOException;
    }

    public static List<InputFile> resolve(List<String> inputs, Configuration hadoopConf, OutputTest outputs) {
        Map<String, FileStatus> files = new LinkedHashMap<>();
        for (String input : inputs) {
            Path pattern = new Path(input);
            FileStatus[] matches;
            try {
                FileSystem fs = pattern.getFileSystem(hadoopConf);
                matches = fs.globStatus(pattern);
                if (matches == null || matches.length == 0) {
                    throw new ConfigException("--input " + input + ": no such file, folder or glob match");
                }
                // A file named outright is read whatever its name; a glob or a folder picks only data files.
                boolean glob = input.chars().anyMatch(ch -> "*?[{".indexOf(ch) >= 0);
                List<FileStatus> found = new ArrayList<>();
                Map<Path, Boolean> outputFolders = new HashMap<>();
                for (FileStatus match : matches) {
                    if (match.isDirectory()) {
                        collectDataFiles(outputs, fs, match.getPath(), found);
                    } else if (!glob || isDataFile(match.getPath().getName()) && !outputFolders.computeIfAbsent(
                            match.getPath().getParent(), dir -> isOutput(outputs, fs, dir))) {
                        found.add(match);
                    }
                }
                if (found.isEmpty()) {
                    throw new ConfigException("--input " + input + ": holds no data files (" + String.join(", ", DATA_SUFFIXES) + ")");
                }
                found.sort((a, b) -> a.getPath().toString().compareTo(b.getPath().toString()));
                for (FileStatus status : found) {
                    files.putIfAbsent(status.getPath().toString(), status);
                }
            } catch (IOException e) {
                throw new ConfigException("--input " + input + ": cannot list: " + e.getMessage());
            }
        }
        List<InputFile> result = new ArrayList<>();
        for (FileStatus status : files.values()) {
            String path = status.getPath().toString();
            result.add(new InputFile(result.size(), path, status.getLen(), path.toLowerCase(Locale.ROOT).endsWith(".gz")));
        }
        return result;
    }

    /** Cuts uncompressed files larger than {@code splitBytes} into byte ranges; a gzip file is always one split. */
    public static List<SourceSplit> splits(List<InputFile> files, long splitBytes) {
        List<SourceSplit> splits = new ArrayList<>();
        for (InputFile file : files) {
            if (file.gzip() || file.bytes() <= splitBytes) {
                splits.add(new SourceSplit(file.index(), file.path(), 0, 0, Long.MAX_VALUE, file.gzip()));
                continue;
            }
            int index = 0;
            for (long start = 0; start < file.bytes(); start += splitBytes) {
                splits.add(new SourceSplit(file.index(), file.path(), index++, start, Math.min(file.bytes(), start + splitBytes), false));
            }
        }
        return splits;
    }

    /** An embedpipe output's files (its manifest.json above all) are never input. */
    private static boolean isOutput(OutputTest outputs, FileSystem fs, Path dir) {
        try {
            return dir != null && outputs.isOutput(fs, dir);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static void collectDataFiles(OutputTest outputs, FileSystem fs, Path dir, List<FileStatus> out) throws IOException {
        if (outputs.isOutput(fs, dir)) {
            return;
        }
        for (FileStatus child : fs.listStatus(dir)) {
            String name = child.getPath().getName();
            if (name.startsWith(".") || name.startsWith("_")) {
                continue; // hidden and marker files (_SUCCESS, .crc) are never data
            }
            if (child.isDirectory()) {
                collectDataFiles(outputs, fs, child.getPath(), out);
            } else if (isDataFile(name)) {
                out.add(child);
            }
        }
    }

    private static boolean isDataFile(String name) {
        String lower = name.toLowerCase(Locale.ROOT);
        return !name.startsWith(".") && !name.startsWith("_") && DATA_SUFFIXES.stream().anyMatch(lower::endsWith);
    }
}
