package dev.embedpipe.run;

import org.apache.spark.sql.SparkSession;

import java.io.Serializable;
import java.lang.reflect.InvocationTargetException;
import java.util.Iterator;

/**
 * Extension point inside the executors: wraps the records a task of a named step ({@code read}, {@code embed})
 * emits. Off, and free, unless the Spark setting {@value #CONF_KEY} names a class with a public no-argument
 * constructor; it is built once on the driver and shipped with the tasks. Tests use it to fail first attempts
 * (test code: {@code dev.embedpipe.job.FaultInjection}); users never set it.
 */
public interface TaskHook extends Serializable {
    String CONF_KEY = "spark.embedpipe.taskHook";

    /** A hook that changes nothing. */
    TaskHook NONE = new TaskHook() {
        @Override
        public <T> Iterator<T> wrap(String step, Iterator<T> records) {
            return records;
        }
    };

    <T> Iterator<T> wrap(String step, Iterator<T> records);

    /** The hook {@value #CONF_KEY} names in this session, or {@link #NONE}. */
    static TaskHook of(SparkSession spark) {
        String name = spark.conf().get(CONF_KEY, "");
        if (name.isBlank()) {
            return NONE;
        }
        try {
            return (TaskHook) Class.forName(name, true, Thread.currentThread().getContextClassLoader())
                    .getConstructor().newInstance();
        } catch (ReflectiveOperationException | ClassCastException e) {
            Throwable cause = e instanceof InvocationTargetException ite ? ite.getCause() : e;
            throw new IllegalStateException(CONF_KEY + "=" + name + ": not a TaskHook with a public no-argument constructor", cause);
        }
    }
}
