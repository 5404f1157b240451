package dev.embedpipe.table;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.embedpipe.config.ConfigException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.parquet.example.data.Group;
import org.apache.parquet.hadoop.ParquetReader;
import org.apache.parquet.hadoop.example.GroupReadSupport;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeMap;

/**
 * A Delta Lake table's transaction log ({@code _delta_log/}) replayed by hand, without Spark or Delta's jars: which
 * Parquet files make up a version. The {@code use} commands (search, export, dedupe) and the embedding cache read
 * tables through this. It replays the newest checkpoint at or below the version, then the JSON commits after it.
 * Tables with deletion vectors are refused (embedpipe creates its tables without them).
 */
public final class DeltaLog {
    /** The prefix of the txnAppId every embedpipe commit carries (DeltaOutput writes it, readers recognise it). */
    public static final String APP_ID_PREFIX = "embedpipe:";
    public static final String LOG = "_delta_log";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path table;
    private final FileSystem fs;
    /** version -> commit file, and version -> checkpoint file (single-part checkpoints). */
    private final TreeMap<Long, Path> commits = new TreeMap<>();
    private final TreeMap<Long, Path> checkpoints = new TreeMap<>();

    private DeltaLog(Path table, FileSystem fs) throws IOException {
        this.table = table;
        this.fs = fs;
        Path log = new Path(table, LOG);
        if (!fs.exists(log)) {
            return; // no table yet: latestVersion() is -1
        }
        for (FileStatus f : fs.listStatus(log)) {
            String name = f.getPath().getName();
            if (name.matches("\\d{20}\\.json")) {
                commits.put(Long.parseLong(name.substring(0, 20)), f.getPath());
            } else if (name.matches("\\d{20}\\.checkpoint\\.parquet")) {
                checkpoints.put(Long.parseLong(name.substring(0, 20)), f.getPath());
            }
        }
    }

    /** Whether {@code table} holds a Delta log. */
    public static boolean isDeltaTable(String table, Configuration conf) {
        try {
            Path log = new Path(table, LOG);
            return log.getFileSystem(conf).exists(log);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot look into " + table, e);
        }
    }

    /**
     * Whether {@code table} is what an embedpipe run left before it could write a manifest (a driver killed during
     * or right after its first Delta commit): a Delta log with no commit yet, or whose first commit carries
     * embedpipe's idempotent-write id ({@code txn.appId} "embedpipe:..."). Stray data files of an unfinished commit
     * are never in the log, so a rerun may write there.
     */
    public static boolean isFirstCommitOfAnEmbedpipeRun(FileSystem fs, Path table) throws IOException {
        Path log = new Path(table, LOG);
        if (!fs.isDirectory(log)) {
            return false;
        }
        DeltaLog delta = new DeltaLog(table, fs);
        if (delta.latestVersion() < 0) {
            return true;
        }
        Path first = delta.commits.get(0L);
        if (first == null) {
            return false;
        }
        try (BufferedReader in = delta.reader(first)) {
            for (String line = in.readLine(); line != null; line = in.readLine()) {
                JsonNode action = line.isBlank() ? JSON.missingNode() : JSON.readTree(line);
                if (action.path("txn").path("appId").asText("").startsWith(APP_ID_PREFIX)) {
                    return true;
                }
            }
            return false;
        }
    }

    public static DeltaLog open(String table, Configuration conf) {
        try {
            Path path = new Path(table);
            return new DeltaLog(path, path.getFileSystem(conf));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list the Delta log of " + table, e);
        }
    }

    /** The newest committed version, -1 when the log has none. */
    public long latestVersion() {
        long commit = commits.isEmpty() ? -1 : commits.lastKey();
        long checkpoint = checkpoints.isEmpty() ? -1 : checkpoints.lastKey();
        return Math.max(commit, checkpoint);
    }

    /** The data files of {@code version} (-1: the latest), in the order they were added. */
    public List<Path> liveFiles(long version) {
        long target = version < 0 ? latestVersion() : version;
        if (target < 0) {
            throw new ConfigException(table + ": the Delta log has no commit yet");
        }
        if (target > latestVersion()) {
            throw new ConfigException(table + ": --version " + version + " does not exist; the latest is " + latestVersion());
        }
        try {
            Set<String> live = new LinkedHashSet<>();
            Long base = checkpoints.floorKey(target);
            long from = 0;
            if (base != null) {
                readCheckpoint(checkpoints.get(base), live);
                from = base + 1;
            }
            for (long v = from; v <= target; v++) {
                Path commit = commits.get(v);
                if (commit == null) {
                    throw new ConfigException(table + ": version " + v + " of the Delta log is missing (cleaned up?); "
                            + "versions before the oldest checkpoint can no longer be read");
                }
                replay(commit, live);
            }
            List<Path> files = new ArrayList<>();
            for (String relative : live) {
                files.add(resolve(relative));
            }
            return files;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the Delta log of " + table, e);
        }
    }

    /** A commit's {@code commitInfo} (operation, operationMetrics, ...), or a missing node. */
    public JsonNode commitInfo(long version) {
        Path commit = commits.get(version);
        if (commit == null) {
            return JSON.missingNode();
        }
        try (BufferedReader in = reader(commit)) {
            for (String line = in.readLine(); line != null; line = in.readLine()) {
                JsonNode action = JSON.readTree(line);
                if (action.has("commitInfo")) {
                    return action.get("commitInfo");
                }
            }
            return JSON.missingNode();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + commit, e);
        }
    }

    private void replay(Path commit, Set<String> live) throws IOException {
        try (BufferedReader in = reader(commit)) {
            for (String line = in.readLine(); line != null; line = in.readLine()) {
                if (line.isBlank()) {
                    continue;
                }
                JsonNode action = JSON.readTree(line);
                if (action.has("add")) {
                    refuseDeletionVectors(action.get("add").path("deletionVector"));
                    live.add(action.get("add").get("path").asText());
                } else if (action.has("remove")) {
                    live.remove(action.get("remove").get("path").asText());
                }
            }
        }
    }

    private void readCheckpoint(Path checkpoint, Set<String> live) throws IOException {
        try (ParquetReader<Group> reader = ParquetReader.builder(new GroupReadSupport(), checkpoint)
                .withConf(fs.getConf()).build()) {
            for (Group row = reader.read(); row != null; row = reader.read()) {
                if (row.getType().containsField("add") && row.getFieldRepetitionCount("add") > 0) {
                    Group add = row.getGroup("add", 0);
                    if (add.getType().containsField("deletionVector") && add.getFieldRepetitionCount("deletionVector") > 0) {
                        refuseDeletionVectors(JSON.createObjectNode().put("present", true));
                    }
                    live.add(add.getString("path", 0));
                }
            }
        }
    }

    private void refuseDeletionVectors(JsonNode dv) {
        if (!dv.isMissingNode() && !dv.isNull()) {
            throw new ConfigException(table + ": the Delta table uses deletion vectors, which embedpipe's readers do not "
                    + "apply; set delta.enableDeletionVectors=false and REORG TABLE ... APPLY (PURGE)");
        }
    }

    private Path resolve(String relative) {
        URI uri = URI.create(relative); // the log stores paths URL-encoded
        return uri.isAbsolute() ? new Path(uri) : new Path(table, uri.getPath());
    }

    private BufferedReader reader(Path file) throws IOException {
        FSDataInputStream in = fs.open(file);
        return new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
    }
}
