package dev.embedpipe.write;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The run lease: one writer per output, dead drivers' and silent leases taken over, heartbeats, release. */
class RunLeaseTest {
    @TempDir
    Path dir;
    private final Configuration conf = new Configuration();
    private final ObjectMapper json = new ObjectMapper();

    private Path lease() {
        return dir.resolve("out").resolve(RunLease.FILE);
    }

    private JsonNode read() throws Exception {
        return json.readTree(lease().toFile());
    }

    /** A lease as another run would have written it. */
    private void writeLease(String runId, String host, long pid, Instant heartbeat) throws Exception {
        Files.createDirectories(lease().getParent());
        ObjectNode node = (ObjectNode) json.readTree(RunLease.content(runId, "embed", heartbeat, heartbeat));
        node.put("host", host);
        node.put("pid", pid);
        node.remove("pid_started_at");
        Files.writeString(lease(), node.toString());
    }

    @Test
    void aSecondRunIsRefusedWhileTheFirstHoldsTheLeaseAndMayTakeItAfterRelease() throws Exception {
        String out = dir.resolve("out").toString();
        try (RunLease first = RunLease.acquire(out, "run-1", "embed", 60, conf)) {
            assertThat(first.takeover()).isNull();
            assertThat(read().get("run_id").asText()).isEqualTo("run-1");
            assertThat(read().get("pid").asLong()).isEqualTo(ProcessHandle.current().pid());
            RunLease.HeldException held = assertThrows(RunLease.HeldException.class, () -> RunLease.acquire(out, "run-2", "embed", 60, conf));
            assertThat(held.getMessage()).contains("another run is writing", "run run-1", "pid " + ProcessHandle.current().pid())
                    .doesNotContain("\n");
        }
        assertThat(lease()).doesNotExist();
        try (RunLease second = RunLease.acquire(out, "run-2", "embed", 60, conf)) {
            assertThat(read().get("run_id").asText()).isEqualTo("run-2");
        }
    }

    @Test
    void aLeaseOfADeadProcessOnThisHostIsTakenOverAtOnce() throws Exception {
        Process gone = new ProcessBuilder("true").start();
        gone.waitFor();
        writeLease("killed-run", RunLease.thisHost(), gone.pid(), Instant.now());
        try (RunLease lease = RunLease.acquire(dir.resolve("out").toString(), "restart", "embed", 60, conf)) {
            assertThat(lease.takeover()).contains("killed-run", "no longer running");
            assertThat(read().get("run_id").asText()).isEqualTo("restart");
        }
    }

    @Test
    void anotherHostsLeaseIsTakenOverOnlyAfterTheTimeoutWithoutAHeartbeat() throws Exception {
        String out = dir.resolve("out").toString();
        writeLease("elsewhere", "other-host.example", 4242, Instant.now().minusSeconds(30));
        assertThrows(RunLease.HeldException.class, () -> RunLease.acquire(out, "mine", "embed", 60, conf));
        assertThat(read().get("run_id").asText()).as("a refused run leaves the lease alone").isEqualTo("elsewhere");

        writeLease("elsewhere", "other-host.example", 4242, Instant.now().minusSeconds(90));
        Files.setLastModifiedTime(lease(), java.nio.file.attribute.FileTime.from(Instant.now().minusSeconds(90)));
        try (RunLease lease = RunLease.acquire(out, "mine", "embed", 60, conf)) {
            assertThat(lease.takeover()).contains("elsewhere", "other-host.example", "no heartbeat for 9", "output.lease_timeout_s=60");
        }
    }

    @Test
    void theHeartbeatKeepsTheLeaseFreshAndReleaseLeavesAnotherRunsLeaseAlone() throws Exception {
        String out = dir.resolve("out").toString();
        RunLease lease = RunLease.acquire(out, "beating", "embed", 5, conf); // beats every second
        Instant taken = Instant.parse(read().get("heartbeat_at").asText());
        Thread.sleep(2_500);
        assertThat(Instant.parse(read().get("heartbeat_at").asText())).isAfter(taken);
        writeLease("usurper", "other-host.example", 1, Instant.now());
        lease.close();
        assertThat(read().get("run_id").asText()).as("release deletes only its own lease").isEqualTo("usurper");
    }
}
