package dev.embedpipe.bench;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPInputStream;

/** Real texts for the benchmarks, from the repository's datasets-sample/ (always there, in CI too). */
public final class BenchCorpus {
    private BenchCorpus() {}

    public static Path home() {
        return Path.of(System.getProperty("embedpipe.home", ".."));
    }

    /** The {@code text} fields of a datasets-sample file (.jsonl or .jsonl.gz). */
    public static List<String> texts(String sampleFile) {
        Path file = home().resolve("datasets-sample").resolve(sampleFile);
        List<String> texts = new ArrayList<>();
        try (InputStream raw = Files.newInputStream(file);
             InputStream in = sampleFile.endsWith(".gz") ? new GZIPInputStream(raw) : raw;
             BufferedReader lines = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
            for (String line = lines.readLine(); line != null; line = lines.readLine()) {
                JsonNode text = BenchRows.JSON.readTree(line).get("text");
                if (text != null && text.isTextual()) {
                    texts.add(text.textValue());
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
        return texts;
    }

    /** The same texts joined {@code per} at a time (blank line between): long documents that need several chunks. */
    public static List<String> joined(List<String> texts, int per) {
        List<String> docs = new ArrayList<>();
        for (int i = 0; i < texts.size(); i += per) {
            docs.add(String.join("\n\n", texts.subList(i, Math.min(texts.size(), i + per))));
        }
        return docs;
    }
}
