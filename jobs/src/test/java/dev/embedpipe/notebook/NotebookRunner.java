package dev.embedpipe.notebook;

import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import jdk.jshell.Diag;
import jdk.jshell.EvalException;
import jdk.jshell.JShell;
import jdk.jshell.Snippet;
import jdk.jshell.SnippetEvent;
import jdk.jshell.SourceCodeAnalysis;
import jdk.jshell.UnresolvedReferenceException;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;

/**
 * Executes Jupyter notebooks whose code cells are plain Java, without Jupyter: every code cell, in order, in one
 * {@link JShell} whose snippets run in a separate JVM (JShell's remote agent) started with the given class path and
 * JVM options. Each cell's standard output and error become {@code stream} outputs, pictures shown with
 * {@link Display#png} become {@code display_data} ({@code image/png}), the value of a cell ending in an expression
 * becomes its {@code execute_result} (unless a semicolon ends it, as in IPython). The first cell that does not
 * compile, throws, leaves a symbol unresolved or runs past the timeout stops the run with its cell number and the
 * error.
 *
 * <p>{@code NotebookRunner [--check] [--timeout-seconds N] [--class-path CP] [--spark-module-options]
 * [--vm-option OPT]... NOTEBOOK...}:
 * without {@code --check} each notebook that ran clean is written back with its new outputs; with it nothing is
 * written. Exit codes: 0 every notebook ran clean, 1 a cell failed, 2 usage.
 */
public final class NotebookRunner {
    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * @param classPath     the executing JVM's class path (also the compiler's)
     * @param vmOptions     the executing JVM's options (memory, module flags, system properties)
     * @param cellTimeout   longest a single cell may run
     */
    public record Options(String classPath, List<String> vmOptions, Duration cellTimeout) {}

    /** A cell that stopped the run: its 1-based position among all cells, its first line, and what went wrong. */
    public record Failure(int cell, String firstLine, String error) {
        @Override
        public String toString() {
            return "cell " + cell + " (" + firstLine + "): " + error;
        }
    }

    /** The notebook with the outputs of this run, and the failure that stopped it (null when every cell ran). */
    public record Outcome(ObjectNode notebook, Failure failure) {
        public boolean ok() {
            return failure == null;
        }
    }

    private final Options options;

    public NotebookRunner(Options options) {
        this.options = options;
    }

    public static void main(String[] args) throws Exception {
        System.exit(run(args, System.out, System.err));
    }

    /** The command line: returns the exit code. */
    static int run(String[] args, PrintStream out, PrintStream err) throws IOException {
        boolean check = false;
        String classPath = System.getProperty("java.class.path");
        List<String> vmOptions = new ArrayList<>();
        Duration timeout = Duration.ofMinutes(10);
        List<Path> notebooks = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            boolean hasValue = i + 1 < args.length;
            switch (arg) {
                case "--check" -> check = true;
                // The module flags Spark's own launcher adds, from Spark itself rather than a copy of the list.
                case "--spark-module-options" -> vmOptions.addAll(List.of(
                        org.apache.spark.launcher.JavaModuleOptions.defaultModuleOptions().split(" ")));
                case "--class-path" -> {
                    if (!hasValue) {
                        return usage(err, arg + " needs a value");
                    }
                    classPath = args[++i];
                }
                case "--vm-option" -> {
                    if (!hasValue) {
                        return usage(err, arg + " needs a value");
                    }
                    vmOptions.add(args[++i]);
                }
                case "--timeout-seconds" -> {
                    if (!hasValue || !args[i + 1].matches("[1-9][0-9]*")) {
                        return usage(err, arg + " needs a positive number of seconds");
                    }
                    timeout = Duration.ofSeconds(Long.parseLong(args[++i]));
                }
                default -> {
                    if (arg.startsWith("-")) {
                        return usage(err, "unknown option " + arg);
                    }
                    notebooks.add(Path.of(arg));
                }
            }
        }
        if (notebooks.isEmpty()) {
            return usage(err, "no notebook given");
        }
        NotebookRunner runner = new NotebookRunner(new Options(classPath, vmOptions, timeout));
        for (Path notebook : notebooks) {
            long started = System.nanoTime();
            Outcome outcome = runner.execute(notebook);
            long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - started);
            if (!outcome.ok()) {
                err.println("notebook " + notebook + " failed at " + outcome.failure() + " (after " + seconds + " s)");
                return 1;
            }
            if (!check) {
                write(outcome.notebook(), notebook);
            }
            out.println("notebook " + notebook + ": every cell ran (" + seconds + " s)" + (check ? "" : ", outputs written"));
        }
        return 0;
    }

    private static int usage(PrintStream err, String problem) {
        err.println("notebooks: " + problem);
        err.println("usage: NotebookRunner [--check] [--timeout-seconds N] [--class-path CP] [--spark-module-options] "
                + "[--vm-option OPT]... NOTEBOOK...");
        return 2;
    }

    /** Runs every code cell of the notebook in order; the notebook on disk is not changed. */
    public Outcome execute(Path notebookFile) throws IOException {
        ObjectNode notebook = (ObjectNode) JSON.readTree(notebookFile.toFile());
        Path argFile = Files.createTempFile("notebook-jvm", ".args");
        Capture capture = new Capture();
        ScheduledExecutorService watchdog = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "notebook-cell-timeout");
            t.setDaemon(true);
            return t;
        });
        try (JShell shell = start(argFile, capture)) {
            ArrayNode cells = (ArrayNode) notebook.withArray("cells");
            int executionCount = 0;
            for (int i = 0; i < cells.size(); i++) {
                ObjectNode cell = (ObjectNode) cells.get(i);
                if (!"code".equals(cell.path("cell_type").asText())) {
                    continue;
                }
                executionCount++;
                String source = text(cell.get("source"));
                CellRun run = runCell(shell, source, capture, watchdog);
                ArrayNode outputs = JSON.createArrayNode();
                for (Capture.Chunk chunk : run.streams()) {
                    addStream(outputs, chunk.name(), chunk.text());
                }
                if (run.value() != null) {
                    ObjectNode result = outputs.addObject();
                    result.put("output_type", "execute_result");
                    result.set("data", JSON.createObjectNode().set("text/plain", lines(run.value())));
                    result.putObject("metadata");
                    result.put("execution_count", executionCount);
                }
                if (run.error() != null) {
                    ObjectNode error = outputs.addObject();
                    error.put("output_type", "error");
                    error.put("ename", run.errorName());
                    error.put("evalue", run.error());
                    error.putArray("traceback").add(run.error());
                }
                cell.put("execution_count", executionCount);
                cell.set("outputs", outputs);
                if (run.error() != null) {
                    return new Outcome(notebook, new Failure(i + 1, source.strip().lines().findFirst().orElse(""),
                            run.error()));
                }
            }
            return new Outcome(notebook, null);
        } finally {
            watchdog.shutdownNow();
            Files.deleteIfExists(argFile);
        }
    }

    private JShell start(Path argFile, Capture capture) throws IOException {
        // The agent JVM takes its options from an argument file: JDI passes them as one space-separated string,
        // and a class path of a few hundred jars is better kept out of a command line.
        List<String> vmArgs = new ArrayList<>(options.vmOptions());
        vmArgs.add("--class-path");
        vmArgs.add(options.classPath());
        Files.write(argFile, vmArgs.stream().map(NotebookRunner::argFileQuote).toList());
        return JShell.builder()
                .in(InputStream.nullInputStream())
                .out(new PrintStream(capture.stream("stdout"), true, StandardCharsets.UTF_8))
                .err(new PrintStream(capture.stream("stderr"), true, StandardCharsets.UTF_8))
                .remoteVMOptions("@" + argFile)
                .compilerOptions("--class-path", options.classPath())
                .build();
    }

    private static String argFileQuote(String arg) {
        return "\"" + arg.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

    /** What one cell did: its output streams in order, its value (or null), its error (or null). */
    private record CellRun(List<Capture.Chunk> streams, String value, String errorName, String error) {}

    private CellRun runCell(JShell shell, String source, Capture capture, ScheduledExecutorService watchdog) {
        AtomicBoolean timedOut = new AtomicBoolean();
        ScheduledFuture<?> alarm = watchdog.schedule(() -> {
            timedOut.set(true);
            shell.stop();
        }, options.cellTimeout().toMillis(), TimeUnit.MILLISECONDS);
        String value = null;
        String errorName = null;
        String error = null;
        try {
            List<Piece> pieces = split(shell.sourceCodeAnalysis(), source);
            for (int s = 0; s < pieces.size() && error == null && !timedOut.get(); s++) {
                value = null;
                for (SnippetEvent event : shell.eval(pieces.get(s).source())) {
                    if (event.causeSnippet() != null) {
                        continue; // an update of an earlier snippet caused by this one
                    }
                    String problem = problem(shell, event);
                    if (problem != null) {
                        errorName = event.exception() != null ? exceptionName(event.exception()) : "CompilationError";
                        error = problem;
                        break;
                    }
                    if (shows(event) && !pieces.get(s).endsWithSemicolon()) {
                        value = event.value();
                    }
                }
            }
        } catch (IncompleteSourceException e) {
            errorName = "CompilationError";
            error = e.getMessage();
        } catch (RuntimeException e) {
            errorName = e.getClass().getSimpleName();
            error = "the execution engine failed: " + e;
        } finally {
            alarm.cancel(false);
        }
        if (timedOut.get()) {
            errorName = "Timeout";
            error = "stopped after " + options.cellTimeout().toSeconds() + " s (--timeout-seconds)";
            value = null;
        }
        List<Capture.Chunk> streams = error != null && errorName.equals("Timeout")
                ? capture.takeWithoutWaiting() : capture.drain(shell);
        return new CellRun(streams, value, errorName, error);
    }

    /** One complete snippet of a cell, and whether it was written with its semicolon (which hides its value). */
    record Piece(String source, boolean endsWithSemicolon) {}

    /** The cell's source cut into complete snippets, as the jshell tool cuts what is typed. */
    static List<Piece> split(SourceCodeAnalysis analysis, String source) throws IncompleteSourceException {
        List<Piece> pieces = new ArrayList<>();
        String remaining = source;
        while (!remaining.isBlank()) {
            SourceCodeAnalysis.CompletionInfo info = analysis.analyzeCompletion(remaining);
            switch (info.completeness()) {
                case EMPTY -> {
                    return pieces;
                }
                case DEFINITELY_INCOMPLETE, CONSIDERED_INCOMPLETE -> throw new IncompleteSourceException(
                        "the cell ends inside an unfinished statement: " + firstLine(remaining));
                case COMPLETE, COMPLETE_WITH_SEMI -> {
                    String written = remaining.substring(0, remaining.length() - info.remaining().length());
                    pieces.add(new Piece(info.source(), written.strip().endsWith(";")));
                    remaining = info.remaining();
                }
                default -> { // UNKNOWN: let eval reject it with a real diagnostic
                    pieces.add(new Piece(remaining, true));
                    remaining = "";
                }
            }
        }
        return pieces;
    }

    static final class IncompleteSourceException extends Exception {
        private static final long serialVersionUID = 1L;

        IncompleteSourceException(String message) {
            super(message);
        }
    }

    /** Why this event stops the run, or null when it does not. */
    private static String problem(JShell shell, SnippetEvent event) {
        Snippet snippet = event.snippet();
        if (event.exception() != null) {
            return describe(shell, event.exception());
        }
        if (event.status() == Snippet.Status.REJECTED) {
            String diagnostics = shell.diagnostics(snippet).map(d -> diagnostic(snippet, d))
                    .collect(Collectors.joining("\n"));
            return "does not compile: " + firstLine(snippet.source())
                    + (diagnostics.isEmpty() ? "" : "\n" + diagnostics);
        }
        if (snippet instanceof jdk.jshell.DeclarationSnippet declaration) {
            List<String> unresolved = shell.unresolvedDependencies(declaration).toList();
            if (!unresolved.isEmpty()) {
                return "unresolved symbols in " + firstLine(snippet.source()) + ": " + String.join(", ", unresolved);
            }
        }
        return null;
    }

    private static String describe(JShell shell, Exception exception) {
        if (exception instanceof UnresolvedReferenceException unresolved) {
            return "uses a declaration that cannot run: " + firstLine(unresolved.getSnippet().source()) + " ("
                    + String.join(", ", shell.unresolvedDependencies(unresolved.getSnippet()).toList()) + ")";
        }
        StringBuilder text = new StringBuilder(exceptionName(exception));
        if (exception.getMessage() != null) {
            text.append(": ").append(exception.getMessage());
        }
        for (StackTraceElement frame : exception.getStackTrace()) {
            text.append("\n    at ").append(frame);
        }
        for (Throwable cause = exception.getCause(); cause != null; cause = cause.getCause()) {
            text.append("\nCaused by: ").append(cause instanceof EvalException e ? e.getExceptionClassName() : cause.getClass().getName())
                    .append(": ").append(cause.getMessage());
        }
        return text.toString();
    }

    private static String exceptionName(Exception exception) {
        return exception instanceof EvalException e ? e.getExceptionClassName() : exception.getClass().getName();
    }

    private static String diagnostic(Snippet snippet, Diag d) {
        String source = snippet.source();
        int position = (int) Math.max(0, Math.min(d.getPosition(), source.length()));
        int lineStart = source.lastIndexOf('\n', position - 1) + 1;
        int lineEnd = source.indexOf('\n', position);
        String line = source.substring(lineStart, lineEnd < 0 ? source.length() : lineEnd);
        return "  " + d.getMessage(Locale.ROOT) + "\n  " + line + "\n  " + " ".repeat(position - lineStart) + "^";
    }

    /** Only a bare expression's value is shown, as a kernel shows the value of a cell's last expression. */
    private static boolean shows(SnippetEvent event) {
        Snippet.SubKind kind = event.snippet().subKind();
        return event.value() != null && (kind == Snippet.SubKind.TEMP_VAR_EXPRESSION_SUBKIND
                || kind == Snippet.SubKind.VAR_VALUE_SUBKIND);
    }

    private static String firstLine(String source) {
        return source.strip().lines().findFirst().orElse("");
    }

    // ---------------------------------------------------------------- notebook JSON

    /** A notebook's multi-line string: one string, or an array of lines. */
    private static String text(JsonNode node) {
        if (node == null || node.isNull()) {
            return "";
        }
        if (node.isArray()) {
            StringBuilder text = new StringBuilder();
            node.forEach(line -> text.append(line.asText()));
            return text.toString();
        }
        return node.asText();
    }

    /** The array of lines nbformat writes, each ending with its newline but the last. */
    static ArrayNode lines(String text) {
        ArrayNode lines = JSON.createArrayNode();
        int start = 0;
        while (start < text.length()) {
            int end = text.indexOf('\n', start);
            end = end < 0 ? text.length() : end + 1;
            lines.add(text.substring(start, end));
            start = end;
        }
        return lines;
    }

    /** Text of one stream, with the pictures {@link Display} put in it turned into display_data outputs. */
    private static void addStream(ArrayNode outputs, String name, String text) {
        int from = 0;
        while (true) {
            int marker = text.indexOf(Display.MARKER, from);
            String before = text.substring(from, marker < 0 ? text.length() : marker);
            if (marker >= 0 && before.endsWith("\n")) {
                before = before.substring(0, before.length() - 1); // the newline Display put before its marker
            }
            if (!before.isEmpty()) {
                ObjectNode stream = outputs.addObject();
                stream.put("output_type", "stream");
                stream.put("name", name);
                stream.set("text", lines(before));
            }
            if (marker < 0) {
                return;
            }
            int lineEnd = text.indexOf('\n', marker);
            String[] payload = text.substring(marker + Display.MARKER.length(), lineEnd < 0 ? text.length() : lineEnd)
                    .split(" ", 2);
            ObjectNode display = outputs.addObject();
            display.put("output_type", "display_data");
            ObjectNode data = display.putObject("data");
            data.put(payload[0], payload.length > 1 ? payload[1] : "");
            data.set("text/plain", lines("<" + payload[0] + ">"));
            display.putObject("metadata");
            from = lineEnd < 0 ? text.length() : lineEnd + 1;
        }
    }

    /** Written as Jupyter writes it: one-space indent, a newline at the end. */
    static void write(ObjectNode notebook, Path file) throws IOException {
        DefaultPrettyPrinter printer = new DefaultPrettyPrinter()
                .withObjectIndenter(new DefaultIndenter(" ", "\n"))
                .withArrayIndenter(new DefaultIndenter(" ", "\n"));
        String json = JSON.writer(printer).writeValueAsString(notebook).replace("\" : ", "\": ");
        Files.writeString(file, json + "\n");
    }

    // ---------------------------------------------------------------- output capture

    /**
     * Collects what the executing JVM prints, in arrival order, tagged by stream. JShell forwards that output on
     * its own threads, so the end of a cell's output is found by a sentinel printed after the cell.
     */
    static final class Capture {
        record Chunk(String name, String text) {}

        private static final String SENTINEL = "\u001eembedpipe-cell-end\u001e";
        private final List<Chunk> chunks = new ArrayList<>();
        private final ByteArrayOutputStream pendingOut = new ByteArrayOutputStream();
        private final ByteArrayOutputStream pendingErr = new ByteArrayOutputStream();
        private String current;

        OutputStream stream(String name) {
            return new OutputStream() {
                @Override
                public void write(int b) {
                    write(new byte[] {(byte) b}, 0, 1);
                }

                @Override
                public void write(byte[] b, int off, int len) {
                    synchronized (Capture.this) {
                        if (!name.equals(current)) {
                            flushPending();
                            current = name;
                        }
                        buffer(name).write(b, off, len);
                        Capture.this.notifyAll();
                    }
                }
            };
        }

        private ByteArrayOutputStream buffer(String name) {
            return name.equals("stdout") ? pendingOut : pendingErr;
        }

        private void flushPending() {
            if (current != null && buffer(current).size() > 0) {
                chunks.add(new Chunk(current, buffer(current).toString(StandardCharsets.UTF_8)));
                buffer(current).reset();
            }
        }

        /** Everything the cell printed, once both streams carried the sentinel (or after 30 s). */
        List<Chunk> drain(JShell shell) {
            shell.eval("System.out.print(\"" + escape(SENTINEL) + "\"); System.out.flush(); System.err.print(\""
                    + escape(SENTINEL) + "\"); System.err.flush();");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            synchronized (this) {
                while (!(sentinelIn("stdout") && sentinelIn("stderr")) && System.nanoTime() < deadline) {
                    try {
                        wait(100);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        break;
                    }
                }
                return takeWithoutWaiting();
            }
        }

        private boolean sentinelIn(String name) {
            String text = buffer(name).toString(StandardCharsets.UTF_8);
            return text.contains(SENTINEL) || chunks.stream().anyMatch(c -> c.name().equals(name) && c.text().contains(SENTINEL));
        }

        synchronized List<Chunk> takeWithoutWaiting() {
            flushPending();
            current = null;
            List<Chunk> taken = new ArrayList<>();
            for (Chunk chunk : chunks) {
                String text = chunk.text().replace(SENTINEL, "");
                if (text.isEmpty()) {
                    continue;
                }
                Chunk last = taken.isEmpty() ? null : taken.get(taken.size() - 1);
                if (last != null && last.name().equals(chunk.name())) {
                    taken.set(taken.size() - 1, new Chunk(last.name(), last.text() + text));
                } else {
                    taken.add(new Chunk(chunk.name(), text));
                }
            }
            chunks.clear();
            return taken;
        }

        private static String escape(String s) {
            return s.replace("\u001e", "\\u001e");
        }
    }
}
