package dev.embedpipe.cli;

import dev.embedpipe.config.ConfigLoader;
import dev.embedpipe.config.EmbedpipeConfig;
import dev.embedpipe.use.EmbeddingTable;
import org.apache.spark.SparkConf;
import org.apache.spark.deploy.SparkHadoopUtil;
import picocli.CommandLine.Option;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** What the commands over a finished table share: {@code --table}, {@code --set}, the run's own configuration. */
abstract class TableCommand {
    @Option(names = "--table", required = true, paramLabel = "OUTPUT", description = "The output folder of an embed run")
    String table;

    @Option(names = "--set", paramLabel = "KEY=VALUE",
            description = "Override one key of the run's configuration (from its manifest); repeatable")
    List<String> sets = new ArrayList<>();

    // Help by hand, not mixinStandardHelpOptions: its -V/--version would take --version from the table's version.
    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help message and exit.")
    boolean help;

    @Option(names = "--version", paramLabel = "N",
            description = "A Delta table's version to read (output.format=delta); default the latest")
    long version = -1;

    @Option(names = "--master", paramLabel = "URL", description = "Spark master, for distributed scans (default as for embed)")
    String master;

    /** The table, read through the file systems the run's configuration reaches. */
    EmbeddingTable openTable() {
        SparkConf probe = new SparkConf();
        // Local disks: no '.crc' side files beside what the commands write.
        probe.setIfMissing("spark.hadoop.fs.file.impl", "org.apache.hadoop.fs.RawLocalFileSystem");
        return EmbeddingTable.open(table, SparkHadoopUtil.get().newConfiguration(probe), version);
    }

    /** The configuration the table was made with, flags and {@code --set} on top. */
    EmbedpipeConfig config(EmbeddingTable t) {
        Map<String, Object> flags = new LinkedHashMap<>();
        if (master != null) {
            flags.put("spark.master", master);
        }
        return StageChecks.check(
                ConfigLoader.load(t.manifest().config(), null, flags, sets));
    }

    static SparkConf sparkConf(EmbedpipeConfig cfg) {
        return JobOptions.sparkConf(cfg);
    }
}
