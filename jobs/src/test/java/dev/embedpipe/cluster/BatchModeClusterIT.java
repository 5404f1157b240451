package dev.embedpipe.cluster;

import dev.embedpipe.cli.EmbedpipeMain;
import dev.embedpipe.testing.ParquetTables;
import dev.embedpipe.testing.ScriptedBatchServer;
import dev.embedpipe.testing.ScriptedEmbeddingServer;
import org.apache.parquet.example.data.Group;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * {@code embedder.mode=batch} on a real standalone cluster (a master and two workers on 127.0.0.1): executors build
 * the request lines, the driver submits them to the scripted Batch API server and collects; every chunk of
 * gsm8k_test gets its text's vector, each text submitted once.
 */
class BatchModeClusterIT {
    @TempDir
    static Path dir;

    @Test
    void batchModeRunsEndToEndOnAStandaloneCluster() throws Exception {
        Assumptions.assumeTrue(Files.isRegularFile(ClusterResumeIT.CORPUS), "needs " + ClusterResumeIT.CORPUS);
        try (StandaloneCluster cluster = StandaloneCluster.start(ClusterResumeIT.HOME, dir.resolve("cluster"), 2);
             ScriptedBatchServer server = ScriptedBatchServer.start()) {
            Path out = dir.resolve("out");
            Map<String, String> settings = cluster.driverSettings();
            settings.forEach(System::setProperty);
            try {
                assertEquals(0, EmbedpipeMain.execute("embed", "--input", ClusterResumeIT.CORPUS.toString(), "--output", out.toString(),
                        "--master", cluster.master(), "--set", "embedder.provider=openai", "--set", "embedder.mode=batch",
                        "--set", "embedder.base_url=" + server.baseUrl(), "--set", "embedder.model=text-embedding-3-small",
                        "--set", "embedder.dimensions=8", "--set", "embedder.api_key_env=PATH", "--set", "limits.batch_poll_s=1",
                        "--set", "limits.max_inputs_per_request=16", "--set", "limits.batch_max_requests_per_file=20",
                        "--set", "input.partition_bytes=262144"));
            } finally {
                settings.keySet().forEach(System::clearProperty);
            }
            Set<String> ids = new HashSet<>();
            for (Group g : ParquetTables.rows(out.resolve("embeddings"))) {
                assertArrayEquals(ScriptedEmbeddingServer.vectorFor(g.getString("text", 0), 8), ParquetTables.floats(g, "embedding"));
                ids.add(g.getString("chunk_id", 0));
            }
            assertEquals(ClusterResumeIT.CHUNKS, ids.size());
            List<String> sent = server.inputsSubmitted();
            assertEquals(new HashSet<>(sent).size(), sent.size());
            assertThat(server.batchesCreated()).isGreaterThan(1);
        }
    }
}
