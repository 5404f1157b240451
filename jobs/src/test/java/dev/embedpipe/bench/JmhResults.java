package dev.embedpipe.bench;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.IOException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * JMH's JSON results ({@code -rf json}) turned into rows. A benchmark class that declares
 * {@code public static List<BenchRow> rows(JmhResults)} maps its own scores (ratios, units); any other gets one
 * informational row per method with its median score.
 *
 * <p>Run: {@code JmhResults jmh.json [--quick]} (jobs/bin/bench does).
 */
public final class JmhResults {
    private final JsonNode results;

    JmhResults(JsonNode results) {
        this.results = results;
    }

    /** The median over all measured iterations of {@code clazz.method} with these params (name, value, ...), or null. */
    public Double median(Class<?> clazz, String method, String... params) {
        JsonNode run = find(clazz.getName() + "." + method, params);
        if (run == null) {
            return null;
        }
        List<Double> scores = new ArrayList<>();
        run.get("primaryMetric").get("rawData").forEach(fork -> fork.forEach(x -> scores.add(x.asDouble())));
        return median(scores);
    }

    static double median(List<Double> values) {
        double[] v = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    private JsonNode find(String benchmark, String... params) {
        for (JsonNode run : results) {
            if (!run.get("benchmark").asText().equals(benchmark)) {
                continue;
            }
            boolean all = true;
            for (int i = 0; i + 1 < params.length; i += 2) {
                JsonNode p = run.path("params").get(params[i]);
                all &= p != null && p.asText().equals(params[i + 1]);
            }
            if (all) {
                return run;
            }
        }
        return null;
    }

    public static void main(String[] args) throws Exception {
        JmhResults results = new JmhResults(BenchRows.JSON.readTree(Files.readAllBytes(Path.of(args[0]))));
        boolean quick = BenchRows.quick(args);
        Set<String> classes = new LinkedHashSet<>();
        for (JsonNode run : results.results) {
            String name = run.get("benchmark").asText();
            classes.add(name.substring(0, name.lastIndexOf('.')));
        }
        for (String className : classes) {
            Class<?> clazz = Class.forName(className);
            BenchRows.write(clazz.getSimpleName(), results.rowsOf(clazz), quick);
        }
    }

    @SuppressWarnings("unchecked")
    private List<BenchRow> rowsOf(Class<?> clazz) throws ReflectiveOperationException {
        Method own = Arrays.stream(clazz.getMethods())
                .filter(m -> m.getName().equals("rows") && Modifier.isStatic(m.getModifiers())
                        && Arrays.equals(m.getParameterTypes(), new Class<?>[] {JmhResults.class}))
                .findFirst().orElse(null);
        if (own != null) {
            return (List<BenchRow>) own.invoke(null, this);
        }
        List<BenchRow> rows = new ArrayList<>();
        for (JsonNode run : results) {
            String name = run.get("benchmark").asText();
            if (name.startsWith(clazz.getName() + ".")) {
                List<Double> scores = new ArrayList<>();
                run.get("primaryMetric").get("rawData").forEach(fork -> fork.forEach(x -> scores.add(x.asDouble())));
                rows.add(BenchRow.info(0, clazz.getSimpleName() + "." + name.substring(name.lastIndexOf('.') + 1)
                        + run.path("params"), median(scores), run.get("primaryMetric").get("scoreUnit").asText(), null));
            }
        }
        return rows;
    }
}
