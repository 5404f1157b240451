package dev.embedpipe.testing;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.parquet.example.data.Group;
import org.apache.parquet.hadoop.ParquetReader;
import org.apache.parquet.hadoop.example.GroupReadSupport;

import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Reads a table folder with the Parquet library's own example reader, not Spark's: an independent check of what
 * any Parquet reader would see.
 */
public final class ParquetTables {
    private ParquetTables() {}

    /** Every row of every .parquet file in the folder. */
    public static List<Group> rows(java.nio.file.Path table) throws IOException {
        List<Group> rows = new ArrayList<>();
        for (java.nio.file.Path file : dataFiles(table)) {
            try (ParquetReader<Group> reader = ParquetReader.builder(new GroupReadSupport(), new Path(file.toUri()))
                    .withConf(new Configuration()).build()) {
                for (Group g = reader.read(); g != null; g = reader.read()) {
                    rows.add(g);
                }
            }
        }
        return rows;
    }

    /** The files a reader globbing the folder sees (names not starting with '.' or '_'). */
    public static List<java.nio.file.Path> visibleFiles(java.nio.file.Path table) throws IOException {
        try (Stream<java.nio.file.Path> files = Files.list(table)) {
            return files.filter(p -> !p.getFileName().toString().startsWith(".") && !p.getFileName().toString().startsWith("_"))
                    .sorted().toList();
        }
    }

    public static List<java.nio.file.Path> dataFiles(java.nio.file.Path table) throws IOException {
        return visibleFiles(table).stream().filter(p -> p.toString().endsWith(".parquet")).toList();
    }

    /** A Spark array&lt;float&gt; column (3-level list: list.element). */
    public static float[] floats(Group row, String column) {
        Group list = row.getGroup(column, 0);
        int n = list.getFieldRepetitionCount("list");
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            out[i] = list.getGroup("list", i).getFloat("element", 0);
        }
        return out;
    }
}
