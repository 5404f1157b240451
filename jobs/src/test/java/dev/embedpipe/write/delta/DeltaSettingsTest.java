package dev.embedpipe.write.delta;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.embedpipe.testing.LocalFiles;
import org.apache.spark.SparkConf;
import org.junit.jupiter.api.Test;

import java.io.IOException;

import static org.junit.jupiter.api.Assertions.assertEquals;

class DeltaSettingsTest {
    @Test
    void theClusterArgumentsCarryWhatTheJobSets() throws IOException {
        JsonNode delta = new ObjectMapper().readTree(LocalFiles.projectHome().resolve("conf/spark-submit.json").toFile()).get("delta");
        assertEquals(DeltaSettings.PACKAGE, delta.get("packages").asText());
        SparkConf conf = new SparkConf(false);
        DeltaSettings.apply(conf);
        delta.get("conf").properties().forEach(e -> assertEquals(e.getValue().asText(), conf.get(e.getKey()), e.getKey()));
        assertEquals("true", conf.get("spark.databricks.delta.properties.defaults.enableChangeDataFeed"));
        assertEquals("false", conf.get("spark.databricks.delta.properties.defaults.enableDeletionVectors"));
    }

    @Test
    void anExistingExtensionIsKept() {
        SparkConf conf = new SparkConf(false).set("spark.sql.extensions", "com.example.Ext");
        DeltaSettings.apply(conf);
        DeltaSettings.apply(conf);
        assertEquals("com.example.Ext," + DeltaSettings.EXTENSION, conf.get("spark.sql.extensions"));
    }
}
