package dev.embedpipe.cli;

import dev.embedpipe.config.ConfigException;
import org.apache.spark.SparkException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** One mapper from exception to exit code and one line, the trace in a log file the line names. */
class ErrorReportTest {
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();
    private PrintStream oldErr;

    @BeforeEach
    void capture() {
        oldErr = System.err;
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        ErrorReport.verbose(false);
        ErrorReport.OutputContext.set("/data/out");
    }

    @AfterEach
    void restore() {
        System.setErr(oldErr);
        ErrorReport.verbose(false);
        ErrorReport.OutputContext.set(null);
    }

    private String stderr() {
        return err.toString(StandardCharsets.UTF_8);
    }

    @Test
    void aCheckedSparkExceptionFromAFullDiskIsOneLineNamingTheOutputWithTheTraceInALogFile() throws IOException {
        SparkException e = new SparkException("Job aborted due to stage failure: Task 1 in stage 4.0 failed 1 times, most recent "
                + "failure: ...\nDriver stacktrace:\n\tat org.apache.spark...", new IOException("No space left on device"));
        assertEquals(1, ErrorReport.report(e));
        assertThat(stderr()).endsWith("\n").hasLineCount(1)
                .startsWith("embedpipe: no space left on device writing /data/out: free some space there (or choose another "
                        + "--output) and run again; the previous table is kept (details: ");
        Matcher log = Pattern.compile("details: (\\S+\\.log), or rerun with --verbose\\)").matcher(stderr());
        assertThat(log.find()).isTrue();
        assertThat(Files.readString(Path.of(log.group(1)))).contains("SparkException: Job aborted", "Caused by: java.io.IOException: No space left on device");
        Files.delete(Path.of(log.group(1)));
    }

    @Test
    void anyOtherFailureIsOneLineWithItsCauseAndVerbosePrintsTheTraceInstead() {
        ErrorReport.verbose(true);
        assertEquals(1, ErrorReport.report(new IllegalStateException("committing /data/out failed\nsecond line",
                new IOException("rename refused"))));
        String[] lines = stderr().split("\n");
        assertThat(lines[0]).isEqualTo("java.lang.IllegalStateException: committing /data/out failed");
        assertThat(stderr()).contains("\tat ").endsWith("embedpipe: the run failed: committing /data/out failed (cause: "
                + "IOException: rename refused) (stack trace above)\n");
    }

    @Test
    void usageErrorsAreExitTwoWithoutATrace() {
        assertEquals(2, ErrorReport.report(new ConfigException("chunk.max_tokens: must be between 8 and 256, got 9999")));
        assertThat(stderr()).isEqualTo("embedpipe: chunk.max_tokens: must be between 8 and 256, got 9999\n");
    }
}
