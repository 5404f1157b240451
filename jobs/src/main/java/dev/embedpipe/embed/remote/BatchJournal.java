package dev.embedpipe.embed.remote;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What one run has sent to the Batch API, in {@code OUTPUT/_batches/RUNID.json}, written before each step that
 * costs money: a batch's request ids and the content hashes they carry are recorded before its file is uploaded,
 * its file id before the batch is created, its batch id right after. A rerun reads every journal whose batches are
 * not yet committed and attaches to them instead of paying again; a batch created just before a crash (no batch id
 * recorded) is found again by its metadata.
 */
public final class BatchJournal {
    public static final String FOLDER = "_batches";
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    /** One batch file and the batch made from it. */
    public static final class Entry {
        public String name;
        public String fileHash;
        public String fileId;
        public String batchId;
        /** planned (not uploaded), uploaded, submitted, committed (collected into a committed table). */
        public String state = "planned";
        public long tokens;
        public long inputs;
        /** custom_id to the content hashes of its inputs, in input order. */
        public Map<String, List<String>> requests = new LinkedHashMap<>();
    }

    /** The file's content. */
    public static final class Content {
        public String runId;
        public List<Entry> entries = new ArrayList<>();
    }

    private final FileSystem fs;
    private final Path file;
    private final Content content;

    private BatchJournal(FileSystem fs, Path file, Content content) {
        this.fs = fs;
        this.file = file;
        this.content = content;
    }

    /** A new, empty journal for {@code runId}; nothing is written until {@link #save()}. */
    public static BatchJournal create(String output, String runId, Configuration conf) {
        Path folder = new Path(output, FOLDER);
        try {
            Content c = new Content();
            c.runId = runId;
            return new BatchJournal(folder.getFileSystem(conf), new Path(folder, runId + ".json"), c);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open " + folder, e);
        }
    }

    /** Every journal under {@code output} that still has batches not committed, oldest first. */
    public static List<BatchJournal> open(String output, Configuration conf) {
        Path folder = new Path(output, FOLDER);
        List<BatchJournal> journals = new ArrayList<>();
        try {
            FileSystem fs = folder.getFileSystem(conf);
            if (!fs.exists(folder)) {
                return journals;
            }
            FileStatus[] files = fs.listStatus(folder, p -> p.getName().endsWith(".json"));
            java.util.Arrays.sort(files, java.util.Comparator.comparing(f -> f.getPath().getName()));
            for (FileStatus f : files) {
                try (InputStream in = fs.open(f.getPath())) {
                    BatchJournal j = new BatchJournal(fs, f.getPath(), JSON.readValue(in, Content.class));
                    if (!j.open().isEmpty()) {
                        journals.add(j);
                    }
                }
            }
            return journals;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the batch journals in " + folder, e);
        }
    }

    public String runId() {
        return content.runId;
    }

    public String location() {
        return file.toString();
    }

    public List<Entry> entries() {
        return content.entries;
    }

    /** Entries uploaded or submitted and not yet committed: what a rerun attaches to. */
    public List<Entry> open() {
        return content.entries.stream().filter(e -> e.fileId != null && !e.state.equals("committed")).toList();
    }

    /** Writes the journal whole: to a hidden file, then renamed over the old one (a reader sees one or the other). */
    public synchronized void save() {
        try {
            Path tmp = new Path(file.getParent(), "." + file.getName() + ".tmp");
            try (FSDataOutputStream out = fs.create(tmp, true)) {
                JSON.writeValue((java.io.OutputStream) out, content);
            }
            if (fs.exists(file) && !fs.delete(file, false)) {
                throw new IOException("cannot replace " + file);
            }
            if (!fs.rename(tmp, file)) {
                throw new IOException("cannot rename " + tmp + " to " + file);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the batch journal " + file, e);
        }
    }
}
