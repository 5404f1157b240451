package dev.embedpipe.cli;

import dev.embedpipe.config.ConfigException;
import dev.embedpipe.embed.remote.ProviderFatalException;
import dev.embedpipe.util.Redaction;
import dev.embedpipe.write.RunLease;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.io.StringWriter;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Locale;

/**
 * Errors for people, for every command: an exception becomes an exit code and ONE line on stderr (what, where,
 * what to do); its stack trace goes to a log file that line names ({@code ${java.io.tmpdir}/embedpipe-TIME-PID.log}),
 * or to stderr with {@code --verbose}. Every line embedpipe prints about a failure goes through {@link #oneLine}.
 */
public final class ErrorReport {
    private static volatile boolean verbose;

    private ErrorReport() {}

    /** {@code --verbose}: stack traces on stderr instead of in a log file. Reset by each {@code execute}. */
    static void verbose(boolean on) {
        verbose = on;
    }

    /** The one place a message for people is printed: "embedpipe: " and the message on one line of stderr. */
    public static void oneLine(String message) {
        // Redacted here, the one place: an exception's text can carry an API key echoed by a server.
        String flat = message == null ? "" : Redaction.redact(message).replaceAll("\\s*[\\r\\n]+\\s*", " ").strip();
        System.err.println("embedpipe: " + flat);
        System.err.flush();
    }

    /** Maps a command's exception to its exit code, printing its one line (and writing the trace away). */
    public static int report(Throwable e) {
        if (e instanceof ConfigException) {
            oneLine(e.getMessage()); // names the flag or key already; no trace helps there
            return EmbedpipeMain.USAGE;
        }
        if (e instanceof RunLease.HeldException) {
            oneLine(e.getMessage());
            return EmbedpipeMain.FAILED;
        }
        String where = traceTo(e);
        oneLine(describe(e) + " (" + where + ")");
        return EmbedpipeMain.FAILED;
    }

    /** What failed, for people: the cause that says most, not Spark's wrapping of it. */
    static String describe(Throwable e) {
        String text = String.valueOf(e.getMessage());
        int fatal = text.indexOf(ProviderFatalException.class.getSimpleName() + ": ");
        if (fatal >= 0) {
            // An executor's fatal provider answer arrives wrapped in Spark's stage-failure text: show just it.
            String message = text.substring(fatal + ProviderFatalException.class.getSimpleName().length() + 2);
            int end = message.indexOf('\n');
            return "the run failed: " + (end < 0 ? message : message.substring(0, end));
        }
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            String m = String.valueOf(t.getMessage());
            if (m.toLowerCase(Locale.ROOT).contains("no space left on device")) {
                String path = OutputContext.path();
                return "no space left on device writing " + (path == null ? "the output" : path)
                        + ": free some space there (or choose another --output) and run again; the previous table is kept";
            }
        }
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String first = firstLine(text);
        return "the run failed: " + (root == e ? first : first + " (cause: " + root.getClass().getSimpleName() + ": "
                + firstLine(String.valueOf(root.getMessage())) + ")");
    }

    private static String firstLine(String text) {
        int end = text.indexOf('\n');
        String line = end < 0 ? text : text.substring(0, end);
        return line.length() > 400 ? line.substring(0, 399) + "…" : line;
    }

    /** The property naming this JVM's log file; conf/log4j2.properties writes Spark's and our log there too. */
    public static final String LOG_FILE_PROPERTY = "embedpipe.log.file";

    /**
     * This JVM's log file, {@code ${java.io.tmpdir}/embedpipe-TIME-PID.log}, set as a system property before log4j
     * reads its configuration (first thing in main), so the console keeps the progress and one line per failure
     * while traces and Spark's own warnings go to the file that line names.
     */
    public static String logFile() {
        String set = System.getProperty(LOG_FILE_PROPERTY);
        if (set == null) {
            set = Path.of(System.getProperty("java.io.tmpdir"), "embedpipe-"
                    + DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC).format(Instant.now())
                    + "-" + ProcessHandle.current().pid() + ".log").toString();
            System.setProperty(LOG_FILE_PROPERTY, set);
        }
        return set;
    }

    /** Writes the trace where the line says: stderr with --verbose, else a log file in java.io.tmpdir. */
    private static String traceTo(Throwable e) {
        org.slf4j.LoggerFactory.getLogger(ErrorReport.class).debug("embedpipe: the run failed", e);
        if (verbose) {
            e.printStackTrace();
            return "stack trace above";
        }
        Path log = Path.of(logFile());
        try (PrintWriter w = new PrintWriter(Files.newBufferedWriter(log, StandardCharsets.UTF_8,
                StandardOpenOption.CREATE, StandardOpenOption.APPEND))) {
            w.println("embedpipe: the run failed:");
            StringWriter trace = new StringWriter();
            e.printStackTrace(new PrintWriter(trace));
            w.print(Redaction.redact(trace.toString()));
        } catch (IOException | RuntimeException io) {
            e.printStackTrace();
            return "stack trace above; no log file: " + io.getMessage();
        }
        return "details: " + log + ", or rerun with --verbose";
    }

    /** The output folder of the running command, for messages about it (one command per JVM at a time). */
    static final class OutputContext {
        private static volatile String path;

        private OutputContext() {}

        static String path() {
            return path;
        }

        static void set(String output) {
            path = output;
        }
    }
}
