package dev.embedpipe.write;

import dev.embedpipe.config.ConfigException;
import dev.embedpipe.manifest.ManifestJson;
import dev.embedpipe.read.InputResolver;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** What counts as an embedpipe output, and which outputs a run refuses before it starts. */
class OutputFolderTest {
    /** The manifest head today's release (before the layout field) writes. */
    static final String TODAYS_MANIFEST = """
            {"tool": {"name": "embedpipe", "version": "0.1.0-SNAPSHOT"}, "command": "embed", "run_id": "20261201T101010Z-abc",
             "status": "succeeded", "outputs": {"path": "file:/tmp/out", "commit": "rename", "embeddings": "embeddings/"}}""";

    @TempDir
    Path dir;
    private final Configuration conf = new Configuration();

    @Test
    void manifestsAreRecognisedByToolNameAndLayoutOrByTodaysReleaseShape() throws Exception {
        assertThat(ManifestJson.read(TODAYS_MANIFEST).isEmbedpipe()).isTrue();
        assertThat(ManifestJson.read(
                "{\"tool\": {\"name\": \"embedpipe\"}, \"layout\": \"" + OutputFolder.LAYOUT + "\"}").isEmbedpipe()).isTrue();
        assertThat(ManifestJson.read(
                "{\"tool\": {\"name\": \"embedpipe\"}, \"layout\": \"embedpipe-output/99\"}").isEmbedpipe()).as("a layout we do not know").isFalse();
        assertThat(ManifestJson.read("{\"name\": \"my photos\", \"version\": 3}").isEmbedpipe()).isFalse();
        assertThat(ManifestJson.read("{\"tool\": {\"name\": \"embedpipe\"}}").isEmbedpipe())
                .as("no layout and no outputs.commit").isFalse();
    }

    @Test
    void aFolderOfSomeoneElsesFilesIsRefusedAndAnEmbedpipeOutputOrAKilledRunsLeftoversAccepted() throws Exception {
        Path foreign = Files.createDirectories(dir.resolve("mine"));
        Files.writeString(foreign.resolve("notes.txt"), "x");
        Files.createDirectories(foreign.resolve("errors"));
        ConfigException e = assertThrows(ConfigException.class, () -> OutputFolder.checkWritable(foreign.toString(), List.of(), conf));
        assertThat(e.getMessage()).contains("not empty and not an embedpipe output", "notes.txt").doesNotContain("\n");

        Path ours = Files.createDirectories(dir.resolve("ours"));
        Files.writeString(ours.resolve("manifest.json"), TODAYS_MANIFEST);
        Files.writeString(ours.resolve("notes.txt"), "kept, never touched");
        assertDoesNotThrow(() -> OutputFolder.checkWritable(ours.toString(), List.of(), conf));

        Path killed = Files.createDirectories(dir.resolve("killed"));
        Files.createDirectories(killed.resolve("_staging-20261201T101010Z-abc/embeddings"));
        Files.createDirectories(killed.resolve("_checkpoints"));
        assertDoesNotThrow(() -> OutputFolder.checkWritable(killed.toString(), List.of(), conf));
        assertDoesNotThrow(() -> OutputFolder.checkWritable(dir.resolve("new/deeper").toString(), List.of(), conf));
    }

    @Test
    void aFileOrAPathUnderAFileIsRefused() throws Exception {
        Path file = Files.writeString(dir.resolve("report.pdf"), "x");
        assertThat(assertThrows(ConfigException.class, () -> OutputFolder.checkWritable(file.toString(), List.of(), conf))
                .getMessage()).contains("is a file, not a folder");
        assertThat(assertThrows(ConfigException.class, () -> OutputFolder.checkWritable(file.resolve("out/x").toString(), List.of(), conf))
                .getMessage()).contains(file + " is a file, so no folder can be made under it");
    }

    @Test
    void anOutputOverlappingAnInputIsRefused() throws Exception {
        Path in = Files.createDirectories(dir.resolve("in"));
        Files.writeString(in.resolve("docs.jsonl"), "{}\n");
        assertThat(assertThrows(ConfigException.class, () -> OutputFolder.checkWritable(in.toString(), List.of(in.toString()), conf))
                .getMessage()).contains("is the input");
        assertThat(assertThrows(ConfigException.class, () -> OutputFolder.checkWritable(in.resolve("out").toString(),
                List.of(in.toString()), conf)).getMessage()).contains("is inside the input");
        assertThat(assertThrows(ConfigException.class, () -> OutputFolder.checkWritable(in.resolve("out/x").toString(),
                List.of(in + "/o*"), conf)).getMessage()).as("a glob matching a folder above the output").contains("is inside the input");
        assertDoesNotThrow(() -> OutputFolder.checkWritable(in.resolve("out").toString(), List.of(in + "/*.jsonl"), conf));
        assertThat(assertThrows(ConfigException.class, () -> OutputFolder.checkWritable(dir.toString(),
                List.of(in.resolve("docs.jsonl").toString()), conf)).getMessage()).contains("is inside the output folder");
        assertDoesNotThrow(() -> OutputFolder.checkWritable(dir.resolve("in-out").toString(), List.of(in.toString()), conf));
    }

    @Test
    void theInputResolverNeverReadsAnOutputFolder() throws Exception {
        Path data = Files.createDirectories(dir.resolve("data"));
        Files.writeString(data.resolve("docs.jsonl"), "{\"id\":1,\"text\":\"x\"}\n");
        Path oldRun = Files.createDirectories(data.resolve("old-run"));
        Files.writeString(oldRun.resolve("manifest.json"), TODAYS_MANIFEST);
        Files.writeString(oldRun.resolve("stray.jsonl"), "{}\n");
        List<InputResolver.InputFile> files = InputResolver.resolve(List.of(data.toString()), conf, OutputFolder::isEmbedpipeOutput);
        assertThat(files).extracting(InputResolver.InputFile::path).containsExactly("file:" + data.resolve("docs.jsonl"));
        assertThat(assertThrows(ConfigException.class, () -> InputResolver.resolve(List.of(data + "/*/*.json*"), conf, OutputFolder::isEmbedpipeOutput))
                .getMessage()).as("a glob into the output folder").contains("holds no data files");
    }
}
