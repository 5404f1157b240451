package dev.embedpipe.embed.remote;

import com.fasterxml.jackson.databind.JsonNode;
import dev.embedpipe.config.EmbedpipeConfig;
import dev.embedpipe.embed.Embedder.EmbeddingError;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * Batch mode's driver side, without Spark: packs request lines into batch files within the API's limits, journals,
 * uploads and submits them (in waves under {@code limits.batch_queue_tokens}), attaches to the batches earlier runs
 * journaled, polls, and hands every answer (a validated vector or an error) to a {@link Sink} by content hash.
 */
public final class BatchRunner {
    private static final Logger LOG = LoggerFactory.getLogger(BatchRunner.class);

    /** Where answers go, by content hash. */
    public interface Sink {
        void vector(String contentHash, float[] vector);

        void error(String contentHash, EmbeddingError error);
    }

    /** What a run does: the default submits and waits; Airflow splits it into submit-only and collect runs. */
    public enum Step { SUBMIT_AND_WAIT, SUBMIT_ONLY, COLLECT }

    /** Sleeps between polls; tests pass one that does not sleep. */
    public interface Sleeper {
        void sleep(Duration d) throws InterruptedException;
    }

    /** What the run did, for the manifest and the summary line. */
    public static final class Summary implements java.io.Serializable {
        public long filesUploaded;
        public long batchesCreated;
        public long requestsSubmitted;
        public long inputsSubmitted;
        public long tokensSubmitted;
        public long batchesAttached;
        public long batchesAdopted;
        public long batchesCollected;
        public long tokensBilled;
        public long pendingInputs;
        public long budgetInputs;
        public long requeued;
    }

    private record Active(BatchJournal journal, BatchJournal.Entry entry) {}

    private final BatchApi api;
    private final EmbedpipeConfig.Limits limits;
    private final BatchJournal journal;
    private final List<BatchJournal> earlier;
    private final Sink sink;
    private final Consumer<String> status;
    private final Sleeper sleeper;
    private final long budgetTokens;
    private final Summary summary = new Summary();
    private final List<Active> active = new ArrayList<>();
    private final Deque<Active> requeue = new ArrayDeque<>();
    private final List<Active> collected = new ArrayList<>();
    private final Map<String, String> lastStatus = new TreeMap<>();
    private final OpenAiWireFormat wire = new OpenAiWireFormat();
    private Integer dimensions;
    private List<BatchApi.Batch> listed;
    private BatchRequest held; // read, did not fit the file being built
    private long budgetLeft;

    /**
     * @param journal      this run's journal (new batches)
     * @param earlier      journals of earlier runs with batches not yet committed (attached to, never resubmitted)
     * @param dimensions   the expected vector size, or null to learn it from the first answer
     * @param budgetTokens the most tokens this run may submit (0: no cap)
     */
    public BatchRunner(BatchApi api, EmbedpipeConfig config, BatchJournal journal, List<BatchJournal> earlier, Integer dimensions,
                       long budgetTokens, Sink sink, Consumer<String> status, Sleeper sleeper) {
        this.api = api;
        this.limits = config.limits();
        this.journal = journal;
        this.earlier = earlier;
        this.dimensions = dimensions;
        this.budgetTokens = budgetTokens;
        this.budgetLeft = budgetTokens;
        this.sink = sink;
        this.status = status;
        this.sleeper = sleeper;
    }

    /** Content hashes the journals already carry: a rerun does not request them again. */
    public static Set<String> journaledHashes(List<BatchJournal> journals) {
        Set<String> hashes = new HashSet<>();
        for (BatchJournal j : journals) {
            for (BatchJournal.Entry e : j.open()) {
                e.requests.values().forEach(hashes::addAll);
            }
        }
        return hashes;
    }

    public Summary summary() {
        return summary;
    }

    /**
     * Attaches to the earlier runs' batches, submits {@code requests}, and (unless {@code step} is SUBMIT_ONLY) waits
     * for answers until every batch finished or {@code limits.batch_max_wait_h} passed (COLLECT: one look). What is
     * left becomes {@code batch_pending} errors, collected by the next run.
     */
    public Summary run(Iterator<BatchRequest> requests, Step step) {
        attach();
        long deadline = System.nanoTime() + (long) (limits.batchMaxWaitH() * 3_600e9);
        Duration base = Duration.ofSeconds(limits.batchPollS());
        Duration delay = base;
        while (true) {
            boolean changed = step != Step.SUBMIT_ONLY && pollAll();
            submitWhatFits(requests);
            report(requests);
            if (step != Step.SUBMIT_AND_WAIT || (active.isEmpty() && requeue.isEmpty() && !hasMore(requests))
                    || System.nanoTime() >= deadline) {
                break;
            }
            try {
                sleeper.sleep(delay);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for batches", e);
            }
            // back off while nothing moves, up to 10 intervals; back to the interval when something does
            delay = changed ? base : Duration.ofMillis(Math.min(delay.toMillis() * 3 / 2, base.toMillis() * 10));
        }
        if (step != Step.SUBMIT_ONLY) {
            leftPending(requests);
        }
        return summary;
    }

    /** After the run committed: the batches it collected are done for good, later runs skip them. */
    public void markCommitted() {
        Set<BatchJournal> touched = new java.util.LinkedHashSet<>();
        for (Active a : collected) {
            a.entry().state = "committed";
            touched.add(a.journal());
        }
        touched.forEach(BatchJournal::save);
    }

    /** The batches of earlier runs: each is attached to, or adopted by its metadata, or (never created) created. */
    private void attach() {
        for (BatchJournal j : earlier) {
            for (BatchJournal.Entry e : j.open()) {
                Active a = new Active(j, e);
                summary.batchesAttached++;
                if (e.batchId == null) {
                    BatchApi.Batch adopted = adopt(j, e);
                    if (adopted != null) {
                        e.batchId = adopted.id();
                        e.state = "submitted";
                        j.save();
                        summary.batchesAdopted++;
                        LOG.info("embedpipe: adopted batch {} for {} by its metadata", adopted.id(), e.name);
                    } else {
                        requeue.add(a); // uploaded, never created: created when the queue has room
                        continue;
                    }
                }
                active.add(a);
            }
        }
    }

    private BatchApi.Batch adopt(BatchJournal j, BatchJournal.Entry e) {
        if (listed == null) {
            listed = api.list(10_000);
        }
        for (BatchApi.Batch b : listed) {
            if (j.runId().equals(b.metadata().get("embedpipe_run")) && e.fileHash.equals(b.metadata().get("embedpipe_file"))
                    && !b.status().equals("failed")) {
                return b;
            }
        }
        return null;
    }

    private long inFlightTokens() {
        return active.stream().mapToLong(a -> a.entry().tokens).sum();
    }

    private boolean fits(long tokens) {
        long cap = limits.batchQueueTokens();
        return cap <= 0 || active.isEmpty() || inFlightTokens() + tokens <= cap;
    }

    private void submitWhatFits(Iterator<BatchRequest> requests) {
        while (!requeue.isEmpty() && fits(requeue.peek().entry().tokens)) {
            Active a = requeue.poll();
            create(a.journal(), a.entry());
            active.add(a);
        }
        if (!requeue.isEmpty()) {
            return; // re-queued work goes first
        }
        while (hasMore(requests)) {
            BatchJournal.Entry entry = new BatchJournal.Entry();
            byte[] file = nextFile(requests, entry);
            if (file == null) {
                break;
            }
            entry.name = journal.runId() + "-" + journal.entries().size();
            entry.fileHash = sha256(file);
            journal.entries().add(entry);
            journal.save(); // journal first: the hashes are on record before anything is paid for
            entry.fileId = api.upload(entry.name + ".jsonl", file);
            entry.state = "uploaded";
            journal.save();
            summary.filesUploaded++;
            create(journal, entry);
            active.add(new Active(journal, entry));
            summary.requestsSubmitted += entry.requests.size();
            summary.inputsSubmitted += entry.inputs;
            summary.tokensSubmitted += entry.tokens;
        }
    }

    private void create(BatchJournal j, BatchJournal.Entry entry) {
        Map<String, String> metadata = new LinkedHashMap<>();
        metadata.put("embedpipe_run", j.runId());
        metadata.put("embedpipe_file", entry.fileHash);
        metadata.put("embedpipe_entry", entry.name);
        BatchApi.Batch b = api.create(entry.fileId, metadata);
        entry.batchId = b.id();
        entry.state = "submitted";
        j.save();
        summary.batchesCreated++;
        lastStatus.put(b.id(), b.status());
        LOG.info("embedpipe: submitted batch {} ({} requests, {} inputs, {} tokens)", b.id(), entry.requests.size(), entry.inputs,
                entry.tokens);
    }

    private boolean hasMore(Iterator<BatchRequest> requests) {
        return held != null || requests.hasNext();
    }

    /**
     * The next batch file from {@code requests}, within the file limits and what the queue and budget allow, its
     * requests recorded in {@code entry}; null when nothing more may be sent now.
     */
    private byte[] nextFile(Iterator<BatchRequest> requests, BatchJournal.Entry entry) {
        ByteArrayOutputStream file = new ByteArrayOutputStream();
        while (hasMore(requests)) {
            BatchRequest r = held != null ? held : requests.next();
            held = null;
            if (budgetTokens > 0 && r.tokens() > budgetLeft) {
                budgetLeft = 0; // stop here, as the live path does: the rest is for a rerun with a new budget
                EmbeddingError over = new EmbeddingError("budget_exhausted", 0, 0, null, true,
                        "not sent: the run's budget (budget.max_total_tokens / budget.max_cost at the batch price) was spent");
                r.contentHashes().forEach(h -> sink.error(h, over));
                summary.budgetInputs += r.contentHashes().size();
                continue;
            }
            boolean full = entry.requests.size() + 1 > limits.batchMaxRequestsPerFile()
                    || file.size() + r.line().length > limits.batchMaxFileBytes()
                    || entry.inputs + r.contentHashes().size() > limits.batchMaxInputs()
                    || (limits.batchQueueTokens() > 0 && inFlightTokens() + entry.tokens + r.tokens() > limits.batchQueueTokens());
            if (full && !entry.requests.isEmpty()) {
                held = r;
                break;
            }
            if (full && !fits(r.tokens())) {
                held = r; // not even one request fits the queue now: wait for a wave to finish
                return null;
            }
            file.writeBytes(r.line());
            entry.requests.put(r.customId(), r.contentHashes());
            entry.inputs += r.contentHashes().size();
            entry.tokens += r.tokens();
            budgetLeft -= r.tokens();
        }
        return entry.requests.isEmpty() ? null : file.toByteArray();
    }

    /** Polls every batch in flight and collects the finished ones; true when anything changed. */
    private boolean pollAll() {
        boolean changed = false;
        for (Iterator<Active> it = active.iterator(); it.hasNext(); ) {
            Active a = it.next();
            BatchApi.Batch b;
            try {
                b = api.get(a.entry().batchId);
            } catch (BatchApi.TransientException e) {
                LOG.warn("embedpipe: polling batch {}: {} (keeps waiting)", a.entry().batchId, e.getMessage());
                continue;
            }
            String before = lastStatus.put(b.id(), b.status() + " " + b.completed() + "/" + b.total() + (b.failed() > 0
                    ? " failed " + b.failed() : ""));
            changed |= !lastStatus.get(b.id()).equals(before);
            if (b.finished()) {
                if (tokenLimited(b)) {
                    it.remove();
                    lastStatus.remove(b.id());
                    // the organisation's enqueued-token cap refused it: the same file is submitted again later
                    LOG.info("embedpipe: batch {} refused for the enqueued-token limit; re-queued", b.id());
                    a.entry().batchId = null;
                    a.entry().state = "uploaded";
                    a.journal().save();
                    requeue.add(a);
                    summary.requeued++;
                } else {
                    try {
                        collect(a, b);
                    } catch (BatchApi.TransientException e) {
                        LOG.warn("embedpipe: downloading the results of batch {}: {} (tries again at the next poll)", b.id(), e.getMessage());
                        continue; // nothing was handed on: the next poll collects it whole
                    }
                    it.remove();
                    lastStatus.remove(b.id());
                }
                changed = true;
            }
        }
        return changed;
    }

    private static boolean tokenLimited(BatchApi.Batch b) {
        return b.status().equals("failed") && b.errors().stream().anyMatch(e -> e[0].equals("token_limit_exceeded"));
    }

    /** Reads a finished batch's output and error files; every input of the batch gets a vector or an error. */
    private void collect(Active a, BatchApi.Batch b) {
        BatchJournal.Entry entry = a.entry();
        Set<String> answered = new HashSet<>();
        List<java.nio.file.Path> files = new ArrayList<>();
        try {
            for (String fileId : new String[] {b.outputFileId(), b.errorFileId()}) {
                if (fileId != null && !fileId.isEmpty()) {
                    files.add(api.content(fileId)); // both downloaded before any answer is handed on
                }
            }
            for (java.nio.file.Path file : files) {
                try (BufferedReader lines = java.nio.file.Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
                    for (String line = lines.readLine(); line != null; line = lines.readLine()) {
                        if (!line.isBlank()) {
                            answer(entry, line, answered);
                        }
                    }
                } catch (IOException e) {
                    throw new UncheckedIOException("cannot read the results of batch " + b.id(), e);
                }
            }
        } finally {
            for (java.nio.file.Path file : files) {
                file.toFile().delete(); // a temporary copy; the provider keeps the original
            }
        }
        String code = switch (b.status()) {
            case "expired" -> "batch_expired";
            case "cancelled" -> "batch_cancelled";
            case "failed" -> b.errors().isEmpty() ? "batch_failed" : b.errors().get(0)[0];
            default -> "missing_answer";
        };
        String message = b.errors().isEmpty() ? "batch " + b.id() + " ended " + b.status() + " without an answer for this request"
                : b.errors().get(0)[1];
        entry.requests.forEach((customId, hashes) -> {
            if (!answered.contains(customId)) {
                EmbeddingError e = new EmbeddingError(code, 0, 1, b.id(), true, message);
                hashes.forEach(h -> sink.error(h, e));
            }
        });
        collected.add(a);
        summary.batchesCollected++;
    }

    /** One line of an output or error file. */
    private void answer(BatchJournal.Entry entry, String line, Set<String> answered) {
        JsonNode n;
        try {
            n = BatchApi.JSON.readTree(line);
        } catch (IOException e) {
            LOG.warn("embedpipe: a result line is not JSON: {}", line.length() > 200 ? line.substring(0, 200) : line);
            return;
        }
        String customId = n.path("custom_id").asText();
        List<String> hashes = entry.requests.get(customId);
        if (hashes == null || !answered.add(customId)) {
            LOG.warn("embedpipe: an answer for unknown or repeated custom_id '{}' is ignored", customId);
            return;
        }
        JsonNode response = n.path("response");
        int status = response.path("status_code").asInt(0);
        String requestId = response.path("request_id").asText(null);
        if (status == 200 && n.path("error").isNull() || status == 200 && n.path("error").isMissingNode()) {
            JsonNode body = response.path("body");
            summary.tokensBilled += body.path("usage").path("total_tokens").asLong(body.path("usage").path("prompt_tokens").asLong());
            try {
                float[][] vectors = wire.parse(BatchApi.JSON.writeValueAsBytes(body), hashes.size(), dimensions);
                if (dimensions == null && vectors.length > 0) {
                    dimensions = vectors[0].length;
                }
                for (int i = 0; i < hashes.size(); i++) {
                    sink.vector(hashes.get(i), vectors[i]);
                }
            } catch (BadResponseException | IOException e) {
                EmbeddingError bad = new EmbeddingError("bad_response", status, 1, requestId, true, e.getMessage());
                hashes.forEach(h -> sink.error(h, bad));
            }
            return;
        }
        JsonNode error = n.path("error").isObject() ? n.path("error") : response.path("body").path("error");
        String code = error.path("code").asText("");
        if (code.isEmpty()) {
            code = error.path("type").asText(status > 0 ? "http_" + status : "batch_error");
        }
        EmbeddingError e = new EmbeddingError(code, status, 1, requestId, true, error.path("message").asText("(no message)"));
        hashes.forEach(h -> sink.error(h, e));
    }

    /** What is still in flight or not yet sent becomes {@code batch_pending}: the next run collects or sends it. */
    private void leftPending(Iterator<BatchRequest> requests) {
        for (Active a : active) {
            String state = lastStatus.getOrDefault(a.entry().batchId, "not polled");
            EmbeddingError e = new EmbeddingError("batch_pending", 0, 0, a.entry().batchId, true,
                    "batch " + a.entry().batchId + " is " + state + "; a rerun (or --collect) collects it without paying again");
            a.entry().requests.values().forEach(hs -> hs.forEach(h -> sink.error(h, e)));
            summary.pendingInputs += a.entry().inputs;
        }
        EmbeddingError unsent = new EmbeddingError("batch_pending", 0, 0, null, true,
                "not submitted yet (limits.batch_queue_tokens); a rerun (or --collect) submits it");
        for (Active a : requeue) {
            a.entry().requests.values().forEach(hs -> hs.forEach(h -> sink.error(h, unsent)));
            summary.pendingInputs += a.entry().inputs;
        }
        while (hasMore(requests)) {
            BatchRequest r = held != null ? held : requests.next();
            held = null;
            r.contentHashes().forEach(h -> sink.error(h, unsent));
            summary.pendingInputs += r.contentHashes().size();
        }
    }

    private void report(Iterator<BatchRequest> requests) {
        Map<String, Integer> byStatus = new TreeMap<>();
        lastStatus.values().forEach(s -> byStatus.merge(s.split(" ")[0], 1, Integer::sum));
        long done = 0;
        long total = 0;
        for (String s : lastStatus.values()) {
            String[] parts = s.split(" ");
            if (parts.length > 1 && parts[1].contains("/")) {
                done += Long.parseLong(parts[1].substring(0, parts[1].indexOf('/')));
                total += Long.parseLong(parts[1].substring(parts[1].indexOf('/') + 1));
            }
        }
        status.accept(String.format("batches: %d in flight %s, requests %d/%d done, %d collected%s", active.size(), byStatus,
                done, total, summary.batchesCollected, requeue.isEmpty() && !hasMore(requests) ? "" : ", more waiting for the queue"));
    }

    private static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes)).substring(0, 32);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
