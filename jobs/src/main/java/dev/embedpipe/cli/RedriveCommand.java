package dev.embedpipe.cli;

import dev.embedpipe.config.ConfigException;
import dev.embedpipe.config.ConfigLoader;
import dev.embedpipe.config.EmbedpipeConfig;
import dev.embedpipe.manifest.Manifest;
import dev.embedpipe.manifest.ManifestJson;
import dev.embedpipe.run.RedriveRun;
import dev.embedpipe.write.RunLease;
import org.apache.hadoop.fs.Path;
import org.apache.spark.SparkConf;
import org.apache.spark.deploy.SparkHadoopUtil;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "redrive", mixinStandardHelpOptions = true,
        description = {"Embeds again only the chunks in TABLE/errors/, with the configuration recorded in "
                + "TABLE/manifest.json (--set overrides it, e.g. limits), and commits a table that holds them, with the "
                + "errors that remain. Exit 3 while some still fail.", ""})
final class RedriveCommand implements Callable<Integer> {
    @Option(names = "--table", required = true, paramLabel = "OUTPUT", description = "The output folder of an embed run")
    String table;

    @Option(names = "--set", paramLabel = "KEY=VALUE", description = "Override one configuration key; repeatable")
    List<String> sets = new ArrayList<>();

    @Option(names = "--master", paramLabel = "URL", description = "Spark master (default as for embed)")
    String master;

    @Override
    public Integer call() throws Exception {
        SparkConf probe = new SparkConf();
        Path manifestPath = new Path(table, Manifest.FILE);
        Manifest manifest;
        try (InputStream in = manifestPath.getFileSystem(SparkHadoopUtil.get().newConfiguration(probe)).open(manifestPath)) {
            manifest = ManifestJson.read(in);
        } catch (IOException e) {
            throw new ConfigException("--table " + table + ": no readable manifest.json (" + e.getClass().getSimpleName() + ")");
        }
        if (!manifest.isEmbedpipe()) {
            throw new ConfigException("--table " + table + ": its manifest.json is not an embedpipe manifest; nothing was changed; "
                    + "name the output folder of an embed run");
        }
        Map<String, Object> flags = new LinkedHashMap<>();
        if (master != null) {
            flags.put("spark.master", master);
        }
        EmbedpipeConfig cfg = ConfigLoader.load(manifest.config(), null, flags, sets);
        StageChecks.check(cfg);
        SparkConf sparkConf = JobOptions.sparkConf(cfg);
        ErrorReport.OutputContext.set(table);
        try (RunLease lease = JobOptions.lease(table, cfg, sparkConf, "redrive")) {
            return SparkRun.with(sparkConf, spark -> {
                RedriveRun.Result r = RedriveRun.run(spark, cfg, table, manifest);
                System.out.printf("embedpipe: redrive of %s: %,d chunks retried, %,d embedded, %,d reused, %,d still failing "
                        + "(%,d requests, %,d tokens sent)%n", table, r.retried(), r.embedded(), r.reused(), r.stillFailing(),
                        r.requests().requests(), r.requests().tokensSent());
                if (r.stillFailing() == 0) {
                    return EmbedpipeMain.OK;
                }
                ErrorReport.oneLine(String.format("%,d chunks still fail, kept in %s/errors/; run redrive again later", r.stillFailing(), table));
                return EmbedpipeMain.OVER_THRESHOLD;
            });
        }
    }
}
