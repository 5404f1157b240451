package dev.embedpipe.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A scripted stand-in for OpenAI's Batch API on 127.0.0.1: {@code POST /v1/files} (multipart, purpose batch),
 * {@code POST /v1/batches}, {@code GET /v1/batches[/{id}]}, {@code POST /v1/batches/{id}/cancel},
 * {@code GET /v1/files/{id}/content}. Embeddings carry {@link ScriptedEmbeddingServer#vectorFor}, so a batch run and a
 * live run against {@link ScriptedEmbeddingServer} must produce the same vectors.
 *
 * <p>Time is counted in polls, not seconds, so tests are deterministic: each {@code GET /v1/batches/{id}} moves a
 * batch one step along validating, in_progress, finalizing, completed (while {@link #hold(boolean)} is on, batches
 * stay in_progress). Each created batch takes the next {@link Script} from a FIFO (normal when empty); each poll takes
 * the next scripted poll status (429, 500) before answering normally.
 */
public final class ScriptedBatchServer implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern BATCH = Pattern.compile("/v1/batches/([^/]+)(/cancel)?");
    private static final Pattern CONTENT = Pattern.compile("/v1/files/([^/]+)/content");

    /** How a batch goes. */
    public enum Script {
        NORMAL,
        /** Every third request line fails (in the error file) with code invalid_input. */
        FAILED_LINES,
        /** Half the requests are answered, then the batch ends expired. */
        EXPIRED,
        /** The batch never leaves validating. */
        STUCK_VALIDATING,
        /** Refused by the organisation's enqueued-token limit: failed with token_limit_exceeded. */
        TOKEN_LIMIT
    }

    /** One recorded request: method, path (with query) and body. */
    public record Call(String method, String path, byte[] body, Map<String, String> headers) {}

    private final HttpServer server;
    private final ExecutorService executor;
    private final Map<String, byte[]> files = new LinkedHashMap<>();
    private final Set<String> uploaded = new java.util.LinkedHashSet<>();
    private final Map<String, ObjectNode> batches = new LinkedHashMap<>();
    private final Map<String, Script> scripts = new LinkedHashMap<>();
    private final Map<String, Long> enqueuedTokens = new LinkedHashMap<>();
    private final Deque<Script> script = new ArrayDeque<>();
    private final Deque<Integer> pollFailures = new ArrayDeque<>();
    private final List<Call> calls = new ArrayList<>();
    private final AtomicInteger ids = new AtomicInteger();
    private volatile boolean hold;
    private volatile long tokenLimit;
    private volatile int dimensions = ScriptedEmbeddingServer.DEFAULT_DIMENSIONS;
    private long maxEnqueued;

    private ScriptedBatchServer(HttpServer server, ExecutorService executor) {
        this.server = server;
        this.executor = executor;
    }

    public static ScriptedBatchServer start() {
        try {
            HttpServer http = HttpServer.create(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0), 0);
            ExecutorService executor = Executors.newFixedThreadPool(4, r -> {
                Thread t = new Thread(r, "scripted-batch");
                t.setDaemon(true);
                return t;
            });
            ScriptedBatchServer s = new ScriptedBatchServer(http, executor);
            http.createContext("/", s::handle);
            http.setExecutor(executor);
            http.start();
            return s;
        } catch (IOException e) {
            throw new IllegalStateException("cannot start the scripted batch server", e);
        }
    }

    public String baseUrl() {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/v1";
    }

    /** Scripts the next {@code times} created batches. */
    public synchronized ScriptedBatchServer enqueue(int times, Script s) {
        for (int i = 0; i < times; i++) {
            script.add(s);
        }
        return this;
    }

    /** The next polls ({@code GET /v1/batches/{id}}) answer these statuses, one each, before answering normally. */
    public synchronized ScriptedBatchServer failPolls(int... statuses) {
        for (int s : statuses) {
            pollFailures.add(s);
        }
        return this;
    }

    /** While on, batches stay in_progress. */
    public ScriptedBatchServer hold(boolean on) {
        hold = on;
        return this;
    }

    /**
     * The organisation's enqueued-token cap (0: none), tokens counted as the sum of each input's length / 4 rounded
     * up: a batch that would go over fails with token_limit_exceeded.
     */
    public ScriptedBatchServer tokenLimit(long tokens) {
        tokenLimit = tokens;
        return this;
    }

    public ScriptedBatchServer setDimensions(int dims) {
        dimensions = dims;
        return this;
    }

    /** The most tokens that were enqueued at once. */
    public synchronized long maxEnqueuedTokens() {
        return maxEnqueued;
    }

    public synchronized List<Call> calls() {
        return List.copyOf(calls);
    }

    public synchronized long count(String method, String pathPrefix) {
        return calls.stream().filter(c -> c.method().equals(method) && c.path().startsWith(pathPrefix)).count();
    }

    /** Batches created ({@code POST /v1/batches}). */
    public long batchesCreated() {
        return count("POST", "/v1/batches") - calls().stream().filter(c -> c.path().endsWith("/cancel")).count();
    }

    /** Request lines in every file uploaded. */
    public synchronized long requestLinesUploaded() {
        long n = 0;
        for (String id : uploaded) {
            byte[] f = files.get(id);
            for (String line : new String(f, StandardCharsets.UTF_8).split("\n")) {
                n += line.isBlank() ? 0 : 1;
            }
        }
        return n;
    }

    /** Every input text of every uploaded request line, in upload order (a text sent twice is listed twice). */
    public synchronized List<String> inputsUploaded() {
        List<String> out = new ArrayList<>();
        for (String id : uploaded) {
            try {
                for (JsonNode line : lines(id)) {
                    line.path("body").path("input").forEach(t -> out.add(t.asText()));
                }
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }
        return out;
    }

    /** Every input text of every batch the server accepted (what is billed), in creation order. */
    public synchronized List<String> inputsSubmitted() {
        List<String> out = new ArrayList<>();
        batches.forEach((id, b) -> {
            if (scripts.get(id) != Script.TOKEN_LIMIT) {
                try {
                    for (JsonNode line : lines(b.path("input_file_id").asText())) {
                        line.path("body").path("input").forEach(t -> out.add(t.asText()));
                    }
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            }
        });
        return out;
    }

    /** Batches scripted to stay validating go on normally from now on. */
    public synchronized void releaseStuck() {
        scripts.replaceAll((id, s) -> s == Script.STUCK_VALIDATING ? Script.NORMAL : s);
    }

    /** Token-counting as the server does it, for tests that set {@link #tokenLimit}. */
    public static long tokens(String text) {
        return Math.max(1, (text.length() + 3) / 4);
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }

    private void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            byte[] body;
            try (InputStream in = exchange.getRequestBody()) {
                body = in.readAllBytes();
            }
            Map<String, String> headers = new LinkedHashMap<>();
            exchange.getRequestHeaders().forEach((k, v) -> headers.put(k.toLowerCase(java.util.Locale.ROOT), String.join(",", v)));
            String method = exchange.getRequestMethod();
            String path = exchange.getRequestURI().getPath();
            String query = exchange.getRequestURI().getRawQuery();
            Object[] reply;
            synchronized (this) {
                calls.add(new Call(method, path + (query == null ? "" : "?" + query), body, headers));
                reply = route(method, path, body, headers);
            }
            byte[] out = (byte[]) reply[1];
            exchange.getResponseHeaders().set("Content-Type", (String) reply[2]);
            exchange.sendResponseHeaders((int) reply[0], out.length == 0 ? -1 : out.length);
            if (out.length > 0) {
                try (OutputStream o = exchange.getResponseBody()) {
                    o.write(out);
                }
            }
        } catch (RuntimeException e) {
            System.err.println("[ScriptedBatchServer] " + e);
            e.printStackTrace();
            throw e;
        }
    }

    private Object[] route(String method, String path, byte[] body, Map<String, String> headers) throws IOException {
        if (method.equals("POST") && path.equals("/v1/files")) {
            return upload(body, headers.getOrDefault("content-type", ""));
        }
        if (method.equals("POST") && path.equals("/v1/batches")) {
            return create(JSON.readTree(body));
        }
        if (method.equals("GET") && path.equals("/v1/batches")) {
            ObjectNode page = JSON.createObjectNode();
            page.put("object", "list");
            ArrayNode data = page.putArray("data");
            List<ObjectNode> newestFirst = new ArrayList<>(batches.values());
            java.util.Collections.reverse(newestFirst);
            newestFirst.forEach(data::add);
            page.put("has_more", false);
            return json(200, page);
        }
        Matcher b = BATCH.matcher(path);
        if (b.matches() && batches.containsKey(b.group(1))) {
            ObjectNode batch = batches.get(b.group(1));
            if (b.group(2) != null && method.equals("POST")) {
                if (!isFinished(batch)) {
                    finish(batch, "cancelled", true);
                }
                return json(200, batch);
            }
            if (method.equals("GET")) {
                Integer fail = pollFailures.poll();
                if (fail != null) {
                    return error(fail, fail == 429 ? "rate_limit_exceeded" : "server_error", "scripted " + fail);
                }
                step(batch);
                return json(200, batch);
            }
        }
        Matcher c = CONTENT.matcher(path);
        if (method.equals("GET") && c.matches() && files.containsKey(c.group(1))) {
            return new Object[] {200, files.get(c.group(1)), "application/jsonl"};
        }
        return error(404, "not_found", "no route for " + method + " " + path);
    }

    private Object[] upload(byte[] body, String contentType) throws IOException {
        int at = contentType.indexOf("boundary=");
        if (!contentType.startsWith("multipart/form-data") || at < 0) {
            return error(400, "invalid_request", "expected multipart/form-data");
        }
        String boundary = "--" + contentType.substring(at + "boundary=".length()).replace("\"", "");
        String text = new String(body, StandardCharsets.ISO_8859_1);
        String purpose = null;
        byte[] file = null;
        for (String part : text.split(Pattern.quote(boundary))) {
            int split = part.indexOf("\r\n\r\n");
            if (split < 0) {
                continue;
            }
            String head = part.substring(0, split);
            String value = part.substring(split + 4, part.length() - (part.endsWith("\r\n") ? 2 : 0));
            if (head.contains("name=\"purpose\"")) {
                purpose = value;
            } else if (head.contains("name=\"file\"")) {
                file = value.getBytes(StandardCharsets.ISO_8859_1);
            }
        }
        if (!"batch".equals(purpose) || file == null) {
            return error(400, "invalid_request", "need purpose=batch and a file");
        }
        Set<String> ids = new HashSet<>();
        for (String line : new String(file, StandardCharsets.UTF_8).split("\n")) {
            if (line.isBlank()) {
                continue;
            }
            JsonNode l = JSON.readTree(line);
            if (!l.path("method").asText().equals("POST") || !l.path("url").asText().equals("/v1/embeddings")
                    || !l.path("body").path("input").isArray() || !ids.add(l.path("custom_id").asText())) {
                return error(400, "invalid_request", "bad request line: " + line.substring(0, Math.min(120, line.length())));
            }
        }
        String id = "file-" + ids.size() + "-" + this.ids.incrementAndGet();
        files.put(id, file);
        uploaded.add(id);
        ObjectNode f = JSON.createObjectNode();
        f.put("id", id);
        f.put("object", "file");
        f.put("bytes", file.length);
        f.put("created_at", System.currentTimeMillis() / 1000);
        f.put("filename", "batch.jsonl");
        f.put("purpose", "batch");
        return json(200, f);
    }

    private Object[] create(JsonNode req) throws IOException {
        String fileId = req.path("input_file_id").asText();
        if (!files.containsKey(fileId) || !req.path("endpoint").asText().equals("/v1/embeddings")
                || !req.path("completion_window").asText().equals("24h")) {
            return error(400, "invalid_request", "bad batch request: " + req);
        }
        String id = "batch_" + ids.incrementAndGet();
        ObjectNode b = JSON.createObjectNode();
        b.put("id", id);
        b.put("object", "batch");
        b.put("endpoint", "/v1/embeddings");
        b.put("input_file_id", fileId);
        b.put("completion_window", "24h");
        b.put("status", "validating");
        b.putNull("output_file_id");
        b.putNull("error_file_id");
        b.put("created_at", System.currentTimeMillis() / 1000);
        b.set("metadata", req.path("metadata").isObject() ? req.get("metadata") : JSON.createObjectNode());
        ObjectNode counts = b.putObject("request_counts");
        long lines = lines(fileId).size();
        counts.put("total", lines);
        counts.put("completed", 0);
        counts.put("failed", 0);
        Script s = script.isEmpty() ? Script.NORMAL : script.poll();
        long tokens = 0;
        for (JsonNode l : lines(fileId)) {
            for (JsonNode t : l.path("body").path("input")) {
                tokens += tokens(t.asText());
            }
        }
        long enqueued = enqueuedTokens.values().stream().mapToLong(Long::longValue).sum();
        if (tokenLimit > 0 && enqueued + tokens > tokenLimit) {
            s = Script.TOKEN_LIMIT;
        }
        batches.put(id, b);
        scripts.put(id, s);
        if (s != Script.TOKEN_LIMIT) {
            enqueuedTokens.put(id, tokens);
            maxEnqueued = Math.max(maxEnqueued, enqueued + tokens);
        }
        return json(200, b);
    }

    private List<JsonNode> lines(String fileId) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        for (String line : new String(files.get(fileId), StandardCharsets.UTF_8).split("\n")) {
            if (!line.isBlank()) {
                out.add(JSON.readTree(line));
            }
        }
        return out;
    }

    private static boolean isFinished(ObjectNode b) {
        return switch (b.path("status").asText()) {
            case "completed", "failed", "expired", "cancelled" -> true;
            default -> false;
        };
    }

    /** One poll's worth of progress. */
    private void step(ObjectNode b) throws IOException {
        String id = b.path("id").asText();
        Script s = scripts.get(id);
        switch (b.path("status").asText()) {
            case "validating" -> {
                if (s == Script.TOKEN_LIMIT) {
                    ObjectNode errors = b.putObject("errors");
                    errors.put("object", "list");
                    ObjectNode e = errors.putArray("data").addObject();
                    e.put("code", "token_limit_exceeded");
                    e.put("message", "Enqueued token limit reached for the model in organization org-test.");
                    b.put("status", "failed");
                } else if (s != Script.STUCK_VALIDATING) {
                    b.put("status", "in_progress");
                }
            }
            case "in_progress" -> {
                if (!hold) {
                    if (s == Script.EXPIRED) {
                        finish(b, "expired", true);
                    } else {
                        b.put("status", "finalizing");
                    }
                }
            }
            case "finalizing" -> finish(b, "completed", false);
            default -> { }
        }
    }

    /** Writes the output and error files; {@code partial}: only the first half of the requests are answered. */
    private void finish(ObjectNode b, String status, boolean partial) throws IOException {
        String id = b.path("id").asText();
        Script s = scripts.get(id);
        List<JsonNode> lines = lines(b.path("input_file_id").asText());
        int answered = partial ? lines.size() / 2 : lines.size();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        long completed = 0;
        long failed = 0;
        for (int i = 0; i < answered; i++) {
            JsonNode line = lines.get(i);
            ObjectNode r = JSON.createObjectNode();
            r.put("id", "batch_req_" + id + "_" + i);
            r.put("custom_id", line.path("custom_id").asText());
            ObjectNode response = r.putObject("response");
            response.put("request_id", "req_" + id + "_" + i);
            if (s == Script.FAILED_LINES && i % 3 == 2) {
                response.put("status_code", 400);
                ObjectNode eb = response.putObject("body").putObject("error");
                eb.put("message", "scripted: this input was refused");
                eb.put("type", "invalid_request_error");
                eb.put("code", "invalid_input");
                r.putNull("error");
                err.write(JSON.writeValueAsBytes(r));
                err.write('\n');
                failed++;
                continue;
            }
            response.put("status_code", 200);
            response.set("body", embeddings(line.path("body")));
            r.putNull("error");
            out.write(JSON.writeValueAsBytes(r));
            out.write('\n');
            completed++;
        }
        if (out.size() > 0) {
            String fid = "file-out-" + ids.incrementAndGet();
            files.put(fid, out.toByteArray());
            b.put("output_file_id", fid);
        }
        if (err.size() > 0) {
            String fid = "file-err-" + ids.incrementAndGet();
            files.put(fid, err.toByteArray());
            b.put("error_file_id", fid);
        }
        ObjectNode counts = (ObjectNode) b.get("request_counts");
        counts.put("completed", completed);
        counts.put("failed", failed);
        b.put("status", status);
        enqueuedTokens.remove(id);
    }

    private ObjectNode embeddings(JsonNode request) {
        int dims = request.has("dimensions") ? request.get("dimensions").asInt() : dimensions;
        ObjectNode body = JSON.createObjectNode();
        body.put("object", "list");
        ArrayNode data = body.putArray("data");
        long tokens = 0;
        int i = 0;
        for (JsonNode t : request.path("input")) {
            ObjectNode item = data.addObject();
            item.put("object", "embedding");
            item.put("index", i++);
            ArrayNode v = item.putArray("embedding");
            for (float f : ScriptedEmbeddingServer.vectorFor(t.asText(), dims)) {
                v.add(f);
            }
            tokens += tokens(t.asText());
        }
        body.put("model", request.path("model").asText());
        ObjectNode usage = body.putObject("usage");
        usage.put("prompt_tokens", tokens);
        usage.put("total_tokens", tokens);
        return body;
    }

    private static Object[] json(int status, JsonNode body) throws IOException {
        return new Object[] {status, JSON.writeValueAsBytes(body), "application/json"};
    }

    private static Object[] error(int status, String code, String message) throws IOException {
        ObjectNode root = JSON.createObjectNode();
        ObjectNode e = root.putObject("error");
        e.put("message", message);
        e.put("type", "invalid_request_error");
        e.put("code", code);
        return json(status, root);
    }
}
