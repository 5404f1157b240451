package dev.embedpipe.cluster;

import dev.embedpipe.embed.onnx.ModelCatalog;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/** A standalone cluster on 127.0.0.1 started by jobs/bin/spark-cluster, as users start it; stopped by its PIDs. */
final class StandaloneCluster implements AutoCloseable {
    final Path home;
    final Path state;
    final int port;

    private StandaloneCluster(Path home, Path state, int port) {
        this.home = home;
        this.state = state;
        this.port = port;
    }

    static StandaloneCluster start(Path home, Path state, int workers) throws Exception {
        int port;
        try (ServerSocket socket = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = socket.getLocalPort();
        }
        StandaloneCluster cluster = new StandaloneCluster(home, state, port);
        cluster.script("start", String.valueOf(workers), "1");
        return cluster;
    }

    String master() {
        return "spark://127.0.0.1:" + port;
    }

    /** The PIDs the script recorded: the master first, then one per worker. */
    List<Long> pids() throws IOException {
        List<Long> pids = new ArrayList<>();
        for (String line : Files.readAllLines(state.resolve("pids"))) {
            if (!line.isBlank()) {
                pids.add(Long.parseLong(line.trim()));
            }
        }
        return pids;
    }

    /** Kills one worker and the executors it started, as when a machine is lost. */
    void killWorker(int worker) throws IOException {
        ProcessHandle.of(pids().get(worker)).ifPresent(p -> {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        });
    }

    /** The stderr of every executor the workers started. */
    List<Path> executorLogs() throws IOException {
        try (Stream<Path> files = Files.walk(state)) {
            return files.filter(p -> p.getFileName().toString().equals("stderr")).toList();
        }
    }

    /** What the driver needs to run on this cluster with the application's jars. */
    Map<String, String> driverSettings() throws IOException {
        Path target = home.resolve("jobs/target");
        List<String> jars = new ArrayList<>();
        jars.add(target.resolve("embedpipe-jobs-0.1.0-SNAPSHOT.jar").toString());
        try (Stream<Path> lib = Files.list(target.resolve("lib"))) {
            lib.sorted().forEach(p -> jars.add(p.toString()));
        }
        jars.add(home.resolve(ModelCatalog.MODELS_DIR).resolve(ModelCatalog.named(ModelCatalog.DEFAULT).jar()).toString());
        String opens = "--add-opens=java.base/java.lang=ALL-UNNAMED --add-opens=java.base/java.nio=ALL-UNNAMED "
                + "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED --add-opens=java.base/java.util=ALL-UNNAMED "
                + "--add-opens=java.base/java.lang.invoke=ALL-UNNAMED --add-opens=java.base/java.util.concurrent=ALL-UNNAMED";
        return Map.of("spark.jars", String.join(",", jars),
                "spark.driver.host", "127.0.0.1",
                "spark.executor.memory", "1g",
                "spark.cores.max", "8",
                "spark.executor.extraJavaOptions", opens + " -Dai.djl.offline=true -DOPT_OUT_TRACKING=true",
                "spark.ui.enabled", "false");
    }

    private void script(String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(home.resolve("jobs/bin/spark-cluster").toString()));
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(Files.createDirectories(state).resolve("script.log").toFile()));
        pb.environment().put("EMBEDPIPE_CLUSTER_DIR", state.toString());
        pb.environment().put("SPARK_MASTER_PORT", String.valueOf(port));
        Process p = pb.start();
        if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException("spark-cluster " + String.join(" ", args) + " failed: "
                    + Files.readString(state.resolve("script.log")));
        }
    }

    @Override
    public void close() throws Exception {
        script("stop");
    }
}
