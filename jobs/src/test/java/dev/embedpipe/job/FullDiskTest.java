package dev.embedpipe.job;

import dev.embedpipe.testing.DriverProcess;
import dev.embedpipe.testing.FaultFileSystem;
import dev.embedpipe.testing.LocalFiles;
import dev.embedpipe.write.RunLease;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The output's disk fills up while the local model embeds (faultfs: writes under _checkpoints/ fail with "No space
 * left on device" as tasks flush them, while other tasks are inside ONNX Runtime). The driver must exit 1 with one
 * line, remove its staging, keep the previous table, and not crash (it used to die with SIGSEGV, exit 134).
 */
class FullDiskTest {
    @TempDir
    Path dir;

    private static List<String> args(Path out, String... sets) {
        List<String> args = new ArrayList<>(List.of("embed", "--input",
                LocalFiles.projectHome().resolve("datasets-sample/gsm8k_test_head200.jsonl").toString(),
                "--output", FaultFileSystem.SCHEME + "://" + out, "--master", "local[2]"));
        for (String set : sets) {
            args.addAll(List.of("--set", set));
        }
        return args;
    }

    private Process run(String name, List<String> args, Map<String, String> faults) throws IOException {
        Map<String, String> props = new HashMap<>(Map.of("spark.hadoop.fs.faultfs.impl", FaultFileSystem.class.getName(),
                "embedpipe.log.file", dir.resolve(name + "-driver.log").toString()));
        faults.forEach((k, v) -> props.put("spark.hadoop.fs.faultfs." + k, v));
        return DriverProcess.start(dir.resolve(name + ".log"), args, props, Map.of("OPT_OUT_TRACKING", "true"));
    }

    private static Map<String, Long> files(Path root) throws IOException {
        Map<String, Long> files = new TreeMap<>();
        try (Stream<Path> all = Files.walk(root)) {
            for (Path p : all.filter(Files::isRegularFile).toList()) {
                files.put(root.relativize(p).toString(), Files.size(p));
            }
        }
        return files;
    }

    @Test
    void aFullDiskEndsTheRunWithOneLineAndKeepsThePreviousTable() throws Exception {
        Path out = dir.resolve("out");
        Process first = run("first", args(out), Map.of());
        assertThat(first.waitFor(300, TimeUnit.SECONDS)).isTrue();
        assertEquals(0, first.exitValue(), () -> read(dir.resolve("first.log")));
        String manifest = Files.readString(out.resolve("manifest.json"));
        Map<String, Long> table = files(out.resolve("embeddings"));

        // Smaller chunks: every chunk is new, so the second run embeds (and checkpoints) from the start.
        Process second = run("second", args(out, "chunk.max_tokens=48", "chunk.overlap_tokens=8"),
                Map.of("fail.path", ".*/_checkpoints/.*", "fail.after.bytes", "0"));
        assertThat(second.waitFor(300, TimeUnit.SECONDS)).isTrue();
        String log = read(dir.resolve("second.log"));
        System.out.println("full disk, second run: exit " + second.exitValue() + ", " + log.lines().count() + " lines of console, "
                + log.lines().filter(l -> l.startsWith("\tat ")).count() + " of them trace lines, "
                + log.lines().filter(l -> l.startsWith("embedpipe: ")).toList());
        assertEquals(1, second.exitValue(), log);
        assertThat(log).doesNotContain("SIGSEGV", "hs_err");
        assertThat(log.lines().filter(l -> l.startsWith("\tat "))).as("no stack trace on the console").isEmpty();
        assertThat(read(dir.resolve("second-driver.log"))).as("the trace in the log file the line names")
                .contains("\tat ").containsIgnoringCase("no space left on device");
        assertThat(log.lines().filter(l -> l.startsWith("embedpipe: ")).toList()).singleElement().asString()
                .startsWith("embedpipe: no space left on device writing faultfs://" + out + ": free some space there")
                .contains("the previous table is kept (details: " + dir.resolve("second-driver.log"));

        try (Stream<Path> children = Files.list(out)) {
            assertThat(children.map(p -> p.getFileName().toString()))
                    .as("staging removed, lease released").noneMatch(n -> n.startsWith("_staging-") || n.equals(RunLease.FILE));
        }
        assertThat(Files.readString(out.resolve("manifest.json"))).as("previous manifest").isEqualTo(manifest);
        assertThat(files(out.resolve("embeddings"))).as("previous table").isEqualTo(table);
    }

    private static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            return "";
        }
    }
}
