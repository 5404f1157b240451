package dev.embedpipe.cli;

import dev.embedpipe.embed.onnx.OnnxSessions;
import org.apache.spark.SparkConf;
import org.apache.spark.sql.SparkSession;

/**
 * A command's Spark session, stopped the same way whatever happens. When the command fails, its jobs are cancelled
 * and the native model sessions freed (after the calls in progress return) before Spark stops and the JVM may exit:
 * exiting while a task is inside ONNX Runtime crashed the JVM (SIGSEGV, exit 134).
 */
final class SparkRun {
    /** The body of a command that needs Spark; any exception, checked ones from Scala included, goes to the caller. */
    interface Body<T> {
        T run(SparkSession spark) throws Exception;
    }

    private SparkRun() {}

    static <T> T with(SparkConf conf, Body<T> body) throws Exception {
        SparkSession spark = SparkSession.builder().config(conf).getOrCreate();
        boolean done = false;
        try {
            T result = body.run(spark);
            done = true;
            return result;
        } finally {
            if (!done) {
                stopWork(spark);
            }
            spark.stop();
        }
    }

    private static void stopWork(SparkSession spark) {
        try {
            spark.sparkContext().cancelAllJobs();
        } catch (RuntimeException e) {
            // the context may already be stopping; the sessions below are what matters
        }
        OnnxSessions.closeAll();
    }
}
