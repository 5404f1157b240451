package dev.embedpipe.write.delta;

import dev.embedpipe.config.ConfigException;
import org.apache.spark.SparkConf;

/**
 * What {@code output.format=delta} needs of the Spark session, kept apart from the core so that nothing else loads
 * a Delta class. Delta Lake itself comes with {@code spark-submit --packages} on a cluster (jobs/bin/embedpipe adds
 * it from target/delta-classpath.txt); conf/spark-submit.json carries the same settings.
 */
public final class DeltaSettings {
    /** Delta Lake 4.2.0, the newest release, is built against this Spark; its MERGE fails on 4.1.3 and 4.2.0. */
    public static final String SPARK_VERSION = "4.1.0";
    public static final String PACKAGE = "io.delta:delta-spark_2.13:4.2.0";
    static final String EXTENSION = "io.delta.sql.DeltaSparkSessionExtension";
    static final String CATALOG = "org.apache.spark.sql.delta.catalog.DeltaCatalog";

    private DeltaSettings() {}

    /** Delta's SQL extension and catalog, and the table defaults: a change feed, no deletion vectors. */
    public static void apply(SparkConf conf) {
        String extensions = conf.get("spark.sql.extensions", "");
        if (!extensions.contains(EXTENSION)) {
            conf.set("spark.sql.extensions", extensions.isBlank() ? EXTENSION : extensions + "," + EXTENSION);
        }
        conf.setIfMissing("spark.sql.catalog.spark_catalog", CATALOG);
        // Readers that replay the log (ours, DuckDB's) see the rows a file holds: no deletion vectors.
        conf.setIfMissing("spark.databricks.delta.properties.defaults.enableDeletionVectors", "false");
        conf.setIfMissing("spark.databricks.delta.properties.defaults.enableChangeDataFeed", "true");
    }

    /** @throws ConfigException (exit 2) when Delta is missing or the Spark it runs on is one Delta fails on */
    static void requireRuntime(String sparkVersion) {
        try {
            Class.forName("io.delta.tables.DeltaTable", false, DeltaSettings.class.getClassLoader());
        } catch (ClassNotFoundException e) {
            throw new ConfigException("output.format=delta: Delta Lake is not on the classpath; add spark-submit --packages "
                    + PACKAGE + " (jobs/bin/embedpipe adds it when the build recorded target/delta-classpath.txt)");
        }
        if (!sparkVersion.equals(SPARK_VERSION)) {
            throw new ConfigException("output.format=delta: Delta Lake 4.2.0 runs on Spark " + SPARK_VERSION + ", this is Spark "
                    + sparkVersion + " (its MERGE fails there); use output.format=parquet or Spark " + SPARK_VERSION);
        }
    }
}
