package dev.embedpipe.write;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.embedpipe.config.ConfigException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileAlreadyExistsException;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocalFileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RawLocalFileSystem;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * One writing run per output at a time: {@code OUTPUT/_lease.json} (run id, host, pid, start, heartbeat), created
 * only if absent before any work, rewritten by a daemon thread as a heartbeat, deleted when the run ends. A lease
 * whose driver is gone (same host, process not running) is taken over at once; any other only after
 * {@code output.lease_timeout_s} without a heartbeat. Create-if-absent is atomic on local disks and HDFS; on object
 * stores the lease is advisory (a check, then a write).
 */
public final class RunLease implements AutoCloseable {
    public static final String FILE = "_lease.json";
    private static final Logger LOG = LoggerFactory.getLogger(RunLease.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Another live run holds the output. */
    public static final class HeldException extends RuntimeException {
        HeldException(String message) {
            super(message);
        }
    }

    private final FileSystem fs;
    private final Path file;
    private final String runId;
    private final Instant startedAt = Instant.now();
    private final String takeover;
    private final ScheduledExecutorService heartbeat;

    private RunLease(FileSystem fs, Path file, String runId, String command, String takeover, long beatSeconds) throws IOException {
        this.fs = fs;
        this.file = file;
        this.runId = runId;
        this.takeover = takeover;
        this.heartbeat = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "embedpipe-lease-heartbeat");
            t.setDaemon(true);
            return t;
        });
        heartbeat.scheduleWithFixedDelay(() -> beat(command), beatSeconds, beatSeconds, TimeUnit.SECONDS);
    }

    /**
     * Takes the lease on {@code output} (creating the folder), or throws {@link HeldException} naming the run that
     * holds it, or {@link ConfigException} when the folder cannot be written.
     *
     * @param command the command taking it (embed, redrive, dedupe), recorded for the message another run prints
     */
    public static RunLease acquire(String output, String runId, String command, int timeoutSeconds, Configuration conf) {
        Path out = new Path(output);
        try {
            FileSystem fs = out.getFileSystem(conf);
            if (fs instanceof LocalFileSystem local) {
                fs = local.getRaw(); // no .crc beside a file that is rewritten in place
            }
            if (!fs.mkdirs(out)) {
                throw new IOException("cannot create the folder");
            }
            Path file = new Path(out, FILE);
            String takeover = null;
            for (int attempt = 0; attempt < 3; attempt++) {
                if (createIfAbsent(fs, file, content(runId, command, Instant.now(), Instant.now()))) {
                    return new RunLease(fs, file, runId, command, takeover, Math.max(1, timeoutSeconds / 4));
                }
                byte[] seen = readOrNull(fs, file);
                if (seen == null) {
                    continue; // released between our two looks
                }
                Holder holder = Holder.of(seen, modifiedAt(fs, file));
                LOG.debug("embedpipe: lease {} held by {}", file, holder);
                Duration silent = Duration.between(holder.heartbeat(), Instant.now());
                if (holder.driverGone()) {
                    takeover = "took over the lease on " + output + " of run " + holder.runId() + ": its driver (pid "
                            + holder.pid() + " on this host) is no longer running";
                } else if (silent.toSeconds() > timeoutSeconds) {
                    takeover = "took over the lease on " + output + " of run " + holder.runId() + " (" + holder.where()
                            + "): no heartbeat for " + silent.toSeconds() + " s (output.lease_timeout_s=" + timeoutSeconds + ")";
                } else {
                    throw new HeldException("another run is writing " + output + ": run " + holder.runId() + " ("
                            + holder.command() + ", " + holder.where() + ", heartbeat " + silent.toSeconds() + " s ago); "
                            + "nothing was changed; run again when it has finished (a lease without a heartbeat for "
                            + timeoutSeconds + " s is taken over)");
                }
                // Delete only the lease we judged: if it changed meanwhile, look again.
                if (Arrays.equals(seen, readOrNull(fs, file))) {
                    fs.delete(file, false);
                }
            }
            throw new HeldException("another run is taking the lease on " + output + " at the same time; nothing was changed; run again later");
        } catch (IOException e) {
            // Before any work: the output cannot be written (read-only, full, no permission), a usage error.
            throw new ConfigException("--output " + output + ": cannot write " + FILE + " there (" + e.getMessage()
                    + "); nothing was changed; choose a folder you can write");
        }
    }

    /** What to tell the user when this lease was taken over from another run, or null. */
    public String takeover() {
        return takeover;
    }

    /** Stops the heartbeat and deletes the lease if it is still this run's. */
    @Override
    public void close() {
        heartbeat.shutdownNow();
        try {
            heartbeat.awaitTermination(10, TimeUnit.SECONDS);
            byte[] now = readOrNull(fs, file);
            if (now != null && runId.equals(Holder.of(now, Instant.now()).runId())) {
                fs.delete(file, false);
            }
        } catch (IOException e) {
            LOG.warn("embedpipe: could not release the lease {}: {}", file, e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void beat(String command) {
        try {
            byte[] now = readOrNull(fs, file);
            if (now == null || !runId.equals(Holder.of(now, Instant.now()).runId())) {
                LOG.warn("embedpipe: the lease {} is no longer this run's ({}); another run took it over", file, runId);
                heartbeat.shutdown();
                return;
            }
            try (FSDataOutputStream out = fs.create(file, true)) {
                out.write(content(runId, command, startedAt, Instant.now()));
            }
        } catch (IOException | RuntimeException e) {
            LOG.warn("embedpipe: lease heartbeat on {} failed: {}", file, e.toString());
        }
    }

    /** Atomic where the file system allows it: O_EXCL on local disks, create(overwrite=false) elsewhere. */
    private static boolean createIfAbsent(FileSystem fs, Path file, byte[] content) throws IOException {
        FileSystem raw = fs instanceof LocalFileSystem local ? local.getRaw() : fs;
        if (raw instanceof RawLocalFileSystem rawLocal && "file".equals(raw.getUri().getScheme())) {
            try {
                Files.write(rawLocal.pathToFile(file).toPath(), content, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
                return true;
            } catch (java.nio.file.FileAlreadyExistsException e) {
                return false;
            }
        }
        FSDataOutputStream out;
        try {
            out = fs.create(file, false);
        } catch (FileAlreadyExistsException e) {
            return false;
        } catch (IOException e) {
            if (fs.exists(file)) {
                return false; // some file systems say "already exists" with a plain IOException
            }
            throw e;
        }
        try (out) {
            out.write(content);
        } catch (IOException e) {
            fs.delete(file, false); // ours, half-written: another run must not wait for it
            throw e;
        }
        return true;
    }

    private static byte[] readOrNull(FileSystem fs, Path file) throws IOException {
        try (FSDataInputStream in = fs.open(file)) {
            return in.readAllBytes();
        } catch (FileNotFoundException e) {
            return null;
        }
    }

    private static Instant modifiedAt(FileSystem fs, Path file) throws IOException {
        try {
            FileStatus status = fs.getFileStatus(file);
            return Instant.ofEpochMilli(status.getModificationTime());
        } catch (FileNotFoundException e) {
            return Instant.now();
        }
    }

    static byte[] content(String runId, String command, Instant started, Instant heartbeat) {
        ProcessHandle self = ProcessHandle.current();
        ObjectNode node = JSON.createObjectNode();
        node.put("tool", "embedpipe");
        node.put("run_id", runId);
        node.put("command", command);
        node.put("host", thisHost());
        node.put("pid", self.pid());
        self.info().startInstant().ifPresent(t -> node.put("pid_started_at", t.toString()));
        node.put("started_at", started.toString());
        node.put("heartbeat_at", heartbeat.toString());
        return node.toString().getBytes(StandardCharsets.UTF_8);
    }

    /** The host name a lease records, to tell whether its driver runs on this machine. */
    public static String thisHost() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            String env = System.getenv("HOSTNAME");
            return env == null ? "unknown-host" : env;
        }
    }

    /** The lease as found: a half-written one counts as held, with the file's time as its heartbeat. */
    record Holder(String runId, String command, String host, long pid, String pidStartedAt, Instant heartbeat) {
        static Holder of(byte[] content, Instant fileTime) {
            try {
                JsonNode n = JSON.readTree(content);
                Instant beat = Instant.parse(n.path("heartbeat_at").asText());
                return new Holder(n.path("run_id").asText("?"), n.path("command").asText("?"), n.path("host").asText(""),
                        n.path("pid").asLong(-1), n.path("pid_started_at").asText(null), beat.isAfter(fileTime) ? beat : fileTime);
            } catch (IOException | RuntimeException e) {
                return new Holder("(being written)", "?", "", -1, null, fileTime);
            }
        }

        String where() {
            return "host " + host + ", pid " + pid;
        }

        /** Same host, and the process is not running (or its pid now belongs to a process started later). */
        boolean driverGone() {
            if (pid <= 0 || !host.equals(thisHost())) {
                return false;
            }
            var process = ProcessHandle.of(pid);
            if (process.isEmpty() || !process.get().isAlive()) {
                return true;
            }
            var started = process.get().info().startInstant();
            return pidStartedAt != null && started.isPresent()
                    && Math.abs(Duration.between(Instant.parse(pidStartedAt), started.get()).toMillis()) > 1000;
        }
    }
}
