package dev.embedpipe.testing;

import dev.embedpipe.cli.EmbedpipeMain;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** The job in its own JVM, as a user or a scheduler would run it, so a test can kill it. */
public final class DriverProcess {
    private DriverProcess() {}

    /** Starts {@code embedpipe ARGS} with this JVM's classpath and module flags, plus {@code -Dk=v} settings. */
    public static Process start(Path log, List<String> args, Map<String, String> systemProperties) throws IOException {
        return start(log, args, systemProperties, Map.of());
    }

    /** As above, with {@code environment} added to this JVM's environment variables. */
    public static Process start(Path log, List<String> args, Map<String, String> systemProperties,
                                Map<String, String> environment) throws IOException {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx1g"));
        for (String arg : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (arg.startsWith("--add-") || arg.startsWith("-Dai.djl") || arg.startsWith("-Dlog4j2")) {
                command.add(arg);
            }
        }
        systemProperties.forEach((k, v) -> command.add("-D" + k + "=" + v));
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), EmbedpipeMain.class.getName()));
        command.addAll(args);
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        builder.environment().putAll(environment);
        return builder.start();
    }
}
