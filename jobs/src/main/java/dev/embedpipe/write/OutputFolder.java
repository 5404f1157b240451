package dev.embedpipe.write;

import dev.embedpipe.config.ConfigException;
import dev.embedpipe.manifest.Manifest;
import dev.embedpipe.manifest.ManifestJson;
import dev.embedpipe.table.DeltaLog;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RawLocalFileSystem;

import java.io.File;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * What an {@code --output} folder is before a run writes to it, and whether a run may: an embedpipe output is
 * recognised by its manifest ({@code tool.name} embedpipe, a known {@code layout}; manifests written before the
 * layout field by their {@code outputs.commit}). A run writes, replaces and deletes only the names in
 * {@link #OURS}, so a folder holding anything else is refused unless it is an embedpipe output already.
 */
public final class OutputFolder {
    /** The manifest's {@code layout} value for today's folder layout (tables, manifest, _staging-*, runs/). */
    public static final String LAYOUT = Manifest.LAYOUT;
    /** Every name embedpipe writes inside an output, including those later features add. */
    public static final Set<String> OURS = Set.of("embeddings", "rejects", "errors", OutputCommitter.MANIFEST,
            CheckpointWriter.FOLDER, OutputCommitter.RUNS, "dedupe", "_batches", "_delta_log", RunLease.FILE);
    /**
     * Names a run that died before its first commit can leave behind: a folder of only these is ours too (and
     * {@code embeddings/} when it is the Delta table of such a run, see {@link DeltaLog#isFirstCommitOfAnEmbedpipeRun}).
     */
    private static final Set<String> RUN_PRIVATE = Set.of(CheckpointWriter.FOLDER, OutputCommitter.RUNS, "_batches", RunLease.FILE);
    private static final long MAX_MANIFEST_BYTES = 64L << 20;

    private OutputFolder() {}

    /** True for a name embedpipe writes inside an output ({@link #OURS} or a {@code _staging-RUNID} folder). */
    public static boolean ours(String name) {
        return OURS.contains(name) || name.startsWith("_staging-");
    }

    /** True when {@code dir} holds a manifest embedpipe wrote. */
    public static boolean isEmbedpipeOutput(FileSystem fs, Path dir) throws IOException {
        Path manifest = new Path(dir, OutputCommitter.MANIFEST);
        FileStatus status;
        try {
            status = fs.getFileStatus(manifest);
        } catch (FileNotFoundException e) {
            return false;
        }
        if (!status.isFile() || status.getLen() > MAX_MANIFEST_BYTES) {
            return false;
        }
        try (FSDataInputStream in = fs.open(manifest)) {
            return ManifestJson.read(in).isEmbedpipe();
        } catch (com.fasterxml.jackson.core.JacksonException e) {
            return false; // not JSON, or not shaped like a manifest: not ours
        }
    }

    /**
     * Refuses, before Spark starts, an output a run must not write to: a file, a path under a file, a folder that
     * cannot be written, a non-empty folder that is not an embedpipe output, or one that overlaps an input.
     *
     * @throws ConfigException one line naming the path and what to do (exit 2)
     */
    public static void checkWritable(String output, List<String> inputs, Configuration conf) {
        Path out = new Path(output);
        try {
            FileSystem fs = out.getFileSystem(conf);
            Path qualified = fs.makeQualified(out);
            checkNotOverlapping(qualified, output, inputs, conf);
            FileStatus status = statusOrNull(fs, qualified);
            if (status == null) {
                checkCreatable(fs, qualified, output);
                return;
            }
            if (!status.isDirectory()) {
                throw new ConfigException("--output " + output + ": is a file, not a folder; choose a folder (new or empty, or an embedpipe output)");
            }
            checkLocalWritable(fs, qualified, output);
            List<String> foreign = new ArrayList<>();
            boolean onlyRunPrivate = true;
            for (FileStatus child : fs.listStatus(qualified)) {
                String name = child.getPath().getName();
                onlyRunPrivate &= RUN_PRIVATE.contains(name) || name.startsWith("_staging-")
                        || name.equals("embeddings") && DeltaLog.isFirstCommitOfAnEmbedpipeRun(fs, child.getPath());
                if (!ours(name)) {
                    foreign.add(child.isDirectory() ? name + "/" : name);
                }
            }
            if (onlyRunPrivate || isEmbedpipeOutput(fs, qualified)) {
                return; // empty, what a killed first run left, or an embedpipe output: other files in it are never touched
            }
            String examples = foreign.isEmpty() ? "its manifest.json is not embedpipe's"
                    : "holds " + String.join(", ", foreign.subList(0, Math.min(3, foreign.size()))) + (foreign.size() > 3 ? ", …" : "");
            throw new ConfigException("--output " + output + ": not empty and not an embedpipe output (" + examples
                    + "); nothing was changed; choose a new or empty folder");
        } catch (IOException e) {
            throw new ConfigException("--output " + output + ": cannot be inspected: " + firstLine(e.getMessage()));
        }
    }

    /** Output equal to or inside an input folder (the run would read itself), or an input inside the output. */
    static void checkNotOverlapping(Path output, String given, List<String> inputs, Configuration conf) throws IOException {
        String out = withSlash(output);
        for (String input : inputs) {
            Path pattern = new Path(input);
            FileSystem fs = pattern.getFileSystem(conf);
            Path base = fs.makeQualified(globFreePrefix(pattern));
            String in = withSlash(base);
            if (in.startsWith(out) && !in.equals(out)) {
                throw new ConfigException("--input " + input + ": is inside the output folder " + given
                        + ", which a run replaces; move the input or choose another output");
            }
            boolean glob = !base.equals(fs.makeQualified(pattern));
            if (out.startsWith(in) && (!glob || globReaches(fs.makeQualified(pattern), base, output))) {
                throw new ConfigException("--output " + given + ": is " + (out.equals(in) ? "" : "inside ") + "the input "
                        + input + ", so a run would read its own output; choose an output folder outside every input");
            }
        }
    }

    /** Whether the glob matches the output or one of its folders below the glob's fixed part (a matched folder is read whole). */
    private static boolean globReaches(Path pattern, Path base, Path output) {
        java.nio.file.PathMatcher matcher = java.nio.file.FileSystems.getDefault().getPathMatcher("glob:" + pattern.toUri().getPath());
        for (Path at = output; at != null && at.depth() > base.depth(); at = at.getParent()) {
            if (matcher.matches(java.nio.file.Path.of(at.toUri().getPath()))) {
                return true;
            }
        }
        return false;
    }

    /** The longest leading part of a path without glob characters: what a glob can match under. */
    static Path globFreePrefix(Path p) {
        Path prefix = p;
        for (Path at = p; at != null; at = at.getParent()) {
            if (at.getName().chars().anyMatch(ch -> "*?[{".indexOf(ch) >= 0)) {
                prefix = at.getParent();
            }
        }
        return prefix == null ? p : prefix;
    }

    /** A missing output: its nearest existing ancestor must be a writable folder. */
    private static void checkCreatable(FileSystem fs, Path output, String given) throws IOException {
        for (Path at = output.getParent(); at != null; at = at.getParent()) {
            FileStatus status = statusOrNull(fs, at);
            if (status == null) {
                continue;
            }
            if (!status.isDirectory()) {
                throw new ConfigException("--output " + given + ": " + show(at) + " is a file, so no folder can be made under it; "
                        + "choose another path");
            }
            checkLocalWritable(fs, at, given);
            return;
        }
    }

    /** On a local disk, a folder the user cannot write (permissions, a read-only mount) is refused up front. */
    private static void checkLocalWritable(FileSystem fs, Path dir, String given) {
        if (fs instanceof org.apache.hadoop.fs.LocalFileSystem local) {
            fs = local.getRaw();
        }
        if (fs instanceof RawLocalFileSystem raw) {
            File file = raw.pathToFile(dir);
            if (!java.nio.file.Files.isWritable(file.toPath())) {
                throw new ConfigException("--output " + given + ": " + file + " is not writable (permissions or a read-only "
                        + "file system); choose a folder you can write");
            }
        }
    }

    private static FileStatus statusOrNull(FileSystem fs, Path p) throws IOException {
        try {
            return fs.getFileStatus(p);
        } catch (FileNotFoundException e) {
            return null;
        } catch (IOException e) {
            if (String.valueOf(e.getMessage()).contains("Not a directory")) {
                return null; // a path under a file: the ancestor walk names the file
            }
            throw e;
        }
    }

    /** A path as the user wrote it: local ones without "file:". */
    private static String show(Path p) {
        return "file".equals(p.toUri().getScheme()) ? p.toUri().getPath() : p.toString();
    }

    private static String withSlash(Path p) {
        String s = p.toString();
        return s.endsWith("/") ? s : s + "/";
    }

    private static String firstLine(String text) {
        String t = String.valueOf(text);
        int end = t.indexOf('\n');
        return end < 0 ? t : t.substring(0, end);
    }
}
