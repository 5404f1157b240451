package dev.embedpipe.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.embedpipe.write.RunLease;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * What embed refuses about its output, end to end through {@link EmbedpipeMain#execute}, before Spark starts: one
 * line on stderr, the exit code, and not one byte of the user's files changed.
 */
class OutputSafetyTest {
    @TempDir
    Path dir;
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();
    private PrintStream oldErr;
    private Path input;

    @BeforeEach
    void capture() throws IOException {
        oldErr = System.err;
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        input = Files.createDirectories(dir.resolve("in"));
        Files.writeString(input.resolve("docs.jsonl"), "{\"id\":\"1\",\"text\":\"" + "hello world ".repeat(20) + "\"}\n");
    }

    @AfterEach
    void restore() {
        System.setErr(oldErr);
    }

    private String stderr() {
        return err.toString(StandardCharsets.UTF_8).strip();
    }

    private int embed(String in, Path out) {
        err.reset();
        int code = EmbedpipeMain.execute("embed", "--input", in, "--output", out.toString(), "--master", "local[1]");
        oldErr.println("[" + code + "] " + stderr());
        return code;
    }

    /** Every file under {@code root} with its bytes, to prove nothing changed. */
    private static Map<String, String> snapshot(Path root) throws IOException {
        Map<String, String> files = new TreeMap<>();
        try (Stream<Path> all = Files.walk(root)) {
            for (Path p : all.toList()) {
                files.put(root.relativize(p).toString(), Files.isDirectory(p) ? "/" : Files.readString(p));
            }
        }
        return files;
    }

    @Test
    void aFolderOfTheUsersOwnFilesIsRefusedAndNotOneFileIsTouched() throws IOException {
        Path out = Files.createDirectories(dir.resolve("documents"));
        Files.writeString(out.resolve("notes.txt"), "my notes");
        Files.createDirectories(out.resolve("photos"));
        Files.writeString(out.resolve("photos/cat.jpg"), "not really a jpeg");
        Files.createDirectories(out.resolve("errors"));
        Files.writeString(out.resolve("errors/tax-2024.txt"), "the tax return");
        Files.writeString(out.resolve("manifest.json"), "{\"name\": \"my photo album\", \"version\": 3}");
        Map<String, String> before = snapshot(out);

        assertEquals(2, embed(input.toString(), out));
        assertThat(stderr()).isEqualTo("embedpipe: --output " + out + ": not empty and not an embedpipe output (holds notes.txt, "
                + "photos/); nothing was changed; choose a new or empty folder");
        assertThat(snapshot(out)).isEqualTo(before);
    }

    @Test
    void anOutputEqualToOrInsideAnInputAndAnInputInsideTheOutputAreRefused() throws IOException {
        Map<String, String> before = snapshot(input);
        assertEquals(2, embed(input.toString(), input));
        assertThat(stderr()).isEqualTo("embedpipe: --output " + input + ": is the input " + input
                + ", so a run would read its own output; choose an output folder outside every input");
        assertEquals(2, embed(input.toString(), input.resolve("out")));
        assertThat(stderr()).contains("is inside the input " + input).doesNotContain("\n");
        assertEquals(2, embed(input.resolve("docs.jsonl").toString(), input));
        assertThat(stderr()).contains("--input " + input.resolve("docs.jsonl") + ": is inside the output folder").doesNotContain("\n");
        assertThat(snapshot(input)).isEqualTo(before);
    }

    @Test
    void anOutputThatIsAFileOrUnderAFileIsRefusedInOneLine() throws IOException {
        Path file = Files.writeString(dir.resolve("report.pdf"), "a report");
        assertEquals(2, embed(input.toString(), file));
        assertThat(stderr()).isEqualTo("embedpipe: --output " + file + ": is a file, not a folder; choose a folder (new or empty, "
                + "or an embedpipe output)");
        assertEquals(2, embed(input.toString(), file.resolve("out")));
        assertThat(stderr()).isEqualTo("embedpipe: --output " + file.resolve("out") + ": " + file
                + " is a file, so no folder can be made under it; choose another path");
        assertThat(Files.readString(file)).isEqualTo("a report");
    }

    @Test
    void anUnwritableOutputIsRefusedInOneLine() throws IOException {
        // Root writes through permissions, so this uses a file system that refuses writes (faultfs, below) when the
        // test runs as root, and permissions otherwise.
        Path out = Files.createDirectories(dir.resolve("locked"));
        out.toFile().setWritable(false, false);
        try {
            if (!Files.isWritable(out)) {
                assertEquals(2, embed(input.toString(), out.resolve("run")));
                assertThat(stderr()).contains("is not writable (permissions or a read-only file system)").doesNotContain("\n");
            }
        } finally {
            out.toFile().setWritable(true, false);
        }
        err.reset();
        System.setProperty("spark.hadoop.fs.faultfs.impl", "dev.embedpipe.testing.FaultFileSystem");
        System.setProperty("spark.hadoop.fs.faultfs.impl.disable.cache", "true");
        System.setProperty("spark.hadoop.fs.faultfs.fail.path", ".*/readonly/.*");
        System.setProperty("spark.hadoop.fs.faultfs.fail.message", "Read-only file system");
        try {
            Path readOnly = dir.resolve("readonly");
            int code = EmbedpipeMain.execute("embed", "--input", input.toString(), "--output", "faultfs://" + readOnly, "--master", "local[1]");
            assertEquals(2, code);
            assertThat(stderr()).isEqualTo("embedpipe: --output faultfs://" + readOnly + ": cannot write _lease.json there "
                    + "(Read-only file system); nothing was changed; choose a folder you can write");
        } finally {
            Stream.of("impl", "impl.disable.cache", "fail.path", "fail.message")
                    .forEach(k -> System.clearProperty("spark.hadoop.fs.faultfs." + k));
        }
    }

    @Test
    void anOutputAnotherLiveRunHoldsIsRefusedAtOnceWithOneLine() throws IOException {
        Path out = Files.createDirectories(dir.resolve("busy"));
        ObjectNode lease = (ObjectNode) new ObjectMapper().readTree(
                "{\"tool\":\"embedpipe\",\"run_id\":\"20261201T120000Z-embed-1\",\"command\":\"embed\",\"host\":\"build-7\",\"pid\":1}");
        lease.put("started_at", Instant.now().toString());
        lease.put("heartbeat_at", Instant.now().toString());
        Files.writeString(out.resolve(RunLease.FILE), lease.toString());
        Map<String, String> before = snapshot(out);
        assertEquals(1, embed(input.toString(), out));
        assertThat(stderr()).startsWith("embedpipe: another run is writing " + out + ": run 20261201T120000Z-embed-1 (embed, host "
                + "build-7, pid 1, heartbeat ").endsWith("s ago); nothing was changed; run again when it has finished (a lease "
                + "without a heartbeat for 60 s is taken over)").doesNotContain("\n");
        assertThat(snapshot(out)).isEqualTo(before);

        // redrive writes the output too, so it takes the same lease
        Files.writeString(out.resolve("manifest.json"), "{\"tool\": {\"name\": \"embedpipe\"}, \"layout\": \"embedpipe-output/1\"}");
        err.reset();
        assertEquals(1, EmbedpipeMain.execute("redrive", "--table", out.toString(), "--master", "local[1]"));
        assertThat(stderr()).startsWith("embedpipe: another run is writing " + out + ": run 20261201T120000Z-embed-1").doesNotContain("\n");
    }

    @Test
    void redriveRefusesAFolderWhoseManifestIsNotEmbedpipes() throws IOException {
        Path out = Files.createDirectories(dir.resolve("album"));
        Files.writeString(out.resolve("manifest.json"), "{\"name\": \"my photo album\"}");
        Map<String, String> before = snapshot(out);
        assertEquals(2, EmbedpipeMain.execute("redrive", "--table", out.toString()));
        assertThat(stderr()).isEqualTo("embedpipe: --table " + out + ": its manifest.json is not an embedpipe manifest; nothing was "
                + "changed; name the output folder of an embed run");
        assertThat(snapshot(out)).isEqualTo(before);
    }
}
