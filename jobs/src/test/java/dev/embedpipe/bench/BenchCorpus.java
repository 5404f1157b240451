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

/** Real texts for the benchmarks, from the repository's datasets-sample/ and datasets-test/ (always there, in CI too). */
public final class BenchCorpus {
    private BenchCorpus() {}

    public static Path home() {
        return Path.of(System.getProperty("embedpipe.home", ".."));
    }

    /** gsm8k's test set, whole (datasets-test/). */
    public static Path gsm8kTest() {
        return home().resolve("datasets-test/gsm8k_test.jsonl").toAbsolutePath().normalize();
    }

    /** The WordNet 3.1 glosses, whole, as plain JSONL (see {@link #decompressed}). */
    public static Path wordnetGlosses() {
        return decompressed("wordnet31_glosses.jsonl");
    }

    /** gsm8k's training set, whole, as plain JSONL (see {@link #decompressed}). */
    public static Path gsm8kTrain() {
        return decompressed("gsm8k_train.jsonl");
    }

    /**
     * A corpus that datasets-test/ keeps gzip'd, as plain JSONL: a .gz is read by one task, so it is decompressed
     * once under target/ for runs that split their input.
     */
    private static synchronized Path decompressed(String name) {
        Path gz = home().resolve("datasets-test/" + name + ".gz").toAbsolutePath().normalize();
        Path plain = home().resolve("jobs/target/corpora/" + name).toAbsolutePath().normalize();
        try {
            if (!Files.isRegularFile(plain) || Files.getLastModifiedTime(plain).compareTo(Files.getLastModifiedTime(gz)) < 0) {
                Files.createDirectories(plain.getParent());
                Path partial = plain.resolveSibling(plain.getFileName() + ".partial");
                try (InputStream in = new GZIPInputStream(Files.newInputStream(gz))) {
                    Files.copy(in, partial, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                }
                Files.move(partial, plain, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot decompress " + gz, e);
        }
        return plain;
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
