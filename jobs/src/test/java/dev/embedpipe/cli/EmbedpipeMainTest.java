package dev.embedpipe.cli;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** Usage and configuration errors exit 2 with one line naming the flag or key, before Spark starts. */
class EmbedpipeMainTest {
    @TempDir
    Path dir;
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private PrintStream oldErr;
    private PrintStream oldOut;

    @BeforeEach
    void capture() {
        oldErr = System.err;
        oldOut = System.out;
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
    }

    @AfterEach
    void restore() {
        System.setErr(oldErr);
        System.setOut(oldOut);
    }

    private String stderr() {
        return err.toString(StandardCharsets.UTF_8).strip();
    }

    private int run(String... args) throws Exception {
        Path input = dir.resolve("in.jsonl");
        Files.writeString(input, "{\"id\":\"1\",\"text\":\"hello\"}\n");
        return EmbedpipeMain.execute(args);
    }

    @Test
    void helpListsTheOptionsAndExitCodes() throws Exception {
        assertEquals(0, run("embed", "--help"));
        assertThat(out.toString(StandardCharsets.UTF_8)).contains("--input", "--output", "--config", "--set", "--master", "input.paths");
        out.reset();
        assertEquals(0, run("--help"));
        assertThat(out.toString(StandardCharsets.UTF_8)).contains("Exit codes:", "2   usage or configuration error");
    }

    @Test
    void usageErrorsExitTwoWithOneLine() throws Exception {
        assertEquals(2, run("embed", "--bogus"));
        assertThat(stderr()).startsWith("embedpipe: Unknown option: '--bogus'").doesNotContain("\n");
        err.reset();
        assertEquals(2, run("frobnicate"));
        err.reset();
        assertEquals(2, run());
        assertThat(stderr()).contains("a command is required");
    }

    @Test
    void configurationErrorsExitTwoNamingTheKey() throws Exception {
        String in = dir.resolve("in.jsonl").toString();
        String outDir = dir.resolve("out").toString();
        assertEquals(2, run("embed", "--input", in, "--output", outDir, "--set", "chunk.max_tokens=9999"));
        assertThat(stderr()).isEqualTo("embedpipe: chunk.max_tokens: must be between 8 and 256 (local-onnx's limit is 256), got 9999");
        err.reset();
        assertEquals(2, run("embed", "--input", in, "--output", outDir, "--set", "nope.key=1"));
        assertThat(stderr()).startsWith("embedpipe: nope.key: unknown configuration key").doesNotContain("\n");
        err.reset();
        assertEquals(2, run("embed", "--output", outDir));
        assertThat(stderr()).startsWith("embedpipe: --input (input.paths)");
        err.reset();
        assertEquals(2, run("embed", "--input", dir.resolve("missing-*.jsonl").toString(), "--output", outDir));
        assertThat(stderr()).contains("missing-*.jsonl: no such file, folder or glob match");
        err.reset();
        assertEquals(2, run("embed", "--input", in, "--output", outDir, "--config", dir.resolve("nope.yaml").toString()));
        assertThat(stderr()).contains("--config").contains("no such file");
        assertThat(Files.exists(dir.resolve("out"))).as("nothing is written on a usage error").isFalse();
    }
}
