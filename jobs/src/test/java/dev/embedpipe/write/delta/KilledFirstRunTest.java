package dev.embedpipe.write.delta;

import dev.embedpipe.config.ConfigException;
import dev.embedpipe.table.DeltaLog;
import dev.embedpipe.write.OutputFolder;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * What a driver killed during its first Delta run leaves (no manifest yet) is accepted as an output by the rerun: a
 * Delta log with no commit (data files that no version lists beside it), or whose version 0 carries embedpipe's
 * txnAppId. A Delta table someone else wrote, or a plain folder called embeddings, is still refused.
 * (DeltaKilledDriverIT kills a real driver there.)
 */
class KilledFirstRunTest {
    private static final String STRAY = "part-00000-0b1c6f0e-3a52-4a3e-9d7e-5f7f1b2a9c11-c000.snappy.parquet";
    @TempDir
    Path dir;
    private final Configuration conf = new Configuration();

    private Path output(String name, String firstCommit) throws Exception {
        Path out = dir.resolve(name);
        Path log = Files.createDirectories(out.resolve("embeddings/_delta_log"));
        Files.writeString(out.resolve("embeddings/" + STRAY), "not in any version");
        Files.createDirectories(out.resolve("_staging-20261201T101010Z-abc/_results/embeddings"));
        if (firstCommit != null) {
            Files.writeString(log.resolve("00000000000000000000.json"), firstCommit);
        }
        return out;
    }

    @Test
    void aDeltaLogWithoutACommitIsWhatAKilledFirstRunLeft() throws Exception {
        Path out = output("no-commit", null);
        assertThat(DeltaLog.open(out.resolve("embeddings").toString(), conf).latestVersion()).isEqualTo(-1);
        assertDoesNotThrow(() -> OutputFolder.checkWritable(out.toString(), List.of(), conf));
    }

    @Test
    void aFirstCommitWithEmbedpipesTxnIdAndNoManifestIsOursOtherwiseRefused() throws Exception {
        Path ours = output("ours", """
                {"commitInfo":{"operation":"WRITE"}}
                {"txn":{"appId":"%sfile:/data/out/embeddings","version":0}}
                {"add":{"path":"%s","dataChange":true}}
                """.formatted(DeltaOutput.APP_ID_PREFIX, STRAY));
        assertDoesNotThrow(() -> OutputFolder.checkWritable(ours.toString(), List.of(), conf));

        Path foreign = output("foreign", """
                {"commitInfo":{"operation":"WRITE"}}
                {"add":{"path":"%s","dataChange":true}}
                """.formatted(STRAY));
        ConfigException e = assertThrows(ConfigException.class, () -> OutputFolder.checkWritable(foreign.toString(), List.of(), conf));
        assertThat(e.getMessage()).contains("not an embedpipe output");

        Path plain = Files.createDirectories(dir.resolve("plain/embeddings"));
        Files.writeString(plain.resolve(STRAY), "x");
        assertThrows(ConfigException.class, () -> OutputFolder.checkWritable(plain.getParent().toString(), List.of(), conf));
    }
}
