package dev.embedpipe.testing;

import com.fasterxml.jackson.core.json.JsonWriteFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A scripted stand-in for remote embedding APIs, on 127.0.0.1 and an ephemeral port.
 *
 * <p>Routes: {@code POST /v1/embeddings} (OpenAI wire shape) and {@code POST /embed} (Hugging Face
 * text-embeddings-inference wire shape). Normal answers carry {@link #vectorFor(String, int)}, a deterministic
 * function of each input text, so tests can check that every chunk got its own vector.
 *
 * <p>Scripting: one-shot {@link Behaviour}s are queued FIFO and each is consumed by one request to an embedding
 * route; when the queue is empty the normal answer is sent. {@link #latency(Duration)} delays every answer.
 *
 * <p>Recording: every request is recorded on arrival, before any delay, with the status it will be answered
 * with (so a client that has its answer always finds its request in {@link #requests()}).
 */
public final class ScriptedEmbeddingServer implements AutoCloseable {

    /** OpenAI-style route, relative to the server root. */
    public static final String OPENAI_PATH = "/v1/embeddings";
    /** TEI-style route. */
    public static final String TEI_PATH = "/embed";
    /** Recorded status of a request whose connection was dropped without any response line. */
    public static final int NO_RESPONSE = -1;
    public static final int DEFAULT_DIMENSIONS = 8;
    public static final String DEFAULT_MODEL = "scripted-embedding-model";

    // Raw NaN tokens are only produced by nanValues(); normal vectors are always finite.
    private static final ObjectMapper MAPPER = JsonMapper.builder()
            .disable(JsonWriteFeature.WRITE_NAN_AS_STRINGS)
            .build();
    private static final String LOG_PREFIX = "[ScriptedEmbeddingServer] ";

    private final HttpServer server;
    private final ExecutorService executor;
    private final ConcurrentLinkedQueue<Behaviour> script = new ConcurrentLinkedQueue<>();
    private final List<Recorded> records = new ArrayList<>();
    private final AtomicLong inputs = new AtomicLong();
    private final AtomicLong characters = new AtomicLong();
    private final AtomicInteger inFlight = new AtomicInteger();
    private final AtomicInteger maxInFlight = new AtomicInteger();
    private volatile Duration latency = Duration.ZERO;
    private volatile int dimensions = DEFAULT_DIMENSIONS;
    private volatile boolean closed;

    private ScriptedEmbeddingServer(HttpServer server, ExecutorService executor) {
        this.server = server;
        this.executor = executor;
    }

    /** Starts a server on 127.0.0.1 and an ephemeral port, serving up to 32 requests at once. */
    public static ScriptedEmbeddingServer start() {
        return start(32);
    }

    /** Starts a server serving up to {@code threads} requests at once (more wait in the executor's queue). */
    public static ScriptedEmbeddingServer start(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1: " + threads);
        }
        AtomicInteger threadNumber = new AtomicInteger();
        // Daemon threads: a test that forgets close() must not keep the JVM alive through the pool.
        ThreadPoolExecutor executor = new ThreadPoolExecutor(threads, threads, 30, TimeUnit.SECONDS,
                new LinkedBlockingQueue<>(), r -> {
                    Thread t = new Thread(r, "scripted-embedding-" + threadNumber.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                });
        try {
            HttpServer http = HttpServer.create(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0), 0);
            ScriptedEmbeddingServer s = new ScriptedEmbeddingServer(http, executor);
            // One root context so unknown paths are recorded and answered 404 by us, not silently by the JDK.
            http.createContext("/", s::handle);
            http.setExecutor(executor);
            http.start();
            return s;
        } catch (IOException e) {
            executor.shutdownNow();
            throw new IllegalStateException("cannot start scripted embedding server", e);
        }
    }

    // ---------------------------------------------------------------- addresses

    public int port() {
        return server.getAddress().getPort();
    }

    /** OpenAI-style base URL, including {@code /v1}; the client appends {@code /embeddings}. */
    public String baseUrl() {
        return rootUrl() + "/v1";
    }

    /** Server root without a trailing slash, e.g. for TEI clients that append {@code /embed}. */
    public String rootUrl() {
        return "http://127.0.0.1:" + port();
    }

    // ---------------------------------------------------------------- configuration and scripting

    /** Every answer (normal or scripted) waits {@code d} first; {@link Duration#ZERO} turns it off. */
    public ScriptedEmbeddingServer latency(Duration d) {
        if (d == null || d.isNegative()) {
            throw new IllegalArgumentException("latency must be >= 0: " + d);
        }
        this.latency = d;
        return this;
    }

    /** Vector size for normal answers (an OpenAI request's "dimensions" field wins). */
    public ScriptedEmbeddingServer setDimensions(int dims) {
        if (dims < 1) {
            throw new IllegalArgumentException("dimensions must be >= 1: " + dims);
        }
        this.dimensions = dims;
        return this;
    }

    public int dimensions() {
        return dimensions;
    }

    /** Queues one behaviour for the next request to an embedding route. */
    public ScriptedEmbeddingServer enqueue(Behaviour b) {
        script.add(Objects.requireNonNull(b, "behaviour"));
        return this;
    }

    /** Queues the same behaviour for the next {@code times} requests. */
    public ScriptedEmbeddingServer enqueue(int times, Behaviour b) {
        if (times < 0) {
            throw new IllegalArgumentException("times must be >= 0: " + times);
        }
        Objects.requireNonNull(b, "behaviour");
        for (int i = 0; i < times; i++) {
            script.add(b);
        }
        return this;
    }

    /** Behaviours queued but not yet consumed. */
    public int pendingBehaviours() {
        return script.size();
    }

    /** Drops all queued behaviours. */
    public ScriptedEmbeddingServer clearScript() {
        script.clear();
        return this;
    }

    // ---------------------------------------------------------------- recording

    /** Snapshot of every request so far, in recording (arrival) order. */
    public List<Recorded> requests() {
        synchronized (records) {
            return List.copyOf(records);
        }
    }

    public int requestCount() {
        synchronized (records) {
            return records.size();
        }
    }

    /** Total inputs over all recorded requests. */
    public long inputCount() {
        return inputs.get();
    }

    /** Total input characters (UTF-16 code units, {@link String#length()}) over all recorded requests. */
    public long characterCount() {
        return characters.get();
    }

    /** The most requests that were being handled at the same time, to check client concurrency limits. */
    public int maxInFlight() {
        return maxInFlight.get();
    }

    /** Forgets recorded requests and counters (the script and settings are kept). */
    public ScriptedEmbeddingServer clearRecords() {
        synchronized (records) {
            records.clear();
            inputs.set(0);
            characters.set(0);
            maxInFlight.set(inFlight.get());
        }
        return this;
    }

    /** Stops accepting, closes open connections and interrupts handlers still sleeping. Idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        server.stop(0);
        executor.shutdownNow();
        try {
            executor.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    // ---------------------------------------------------------------- deterministic vectors

    /** The L2-normalised vector every normal answer carries for {@code text}. */
    public static float[] vectorFor(String text, int dims) {
        double[] raw = draw(text, dims);
        double norm = 0;
        for (double v : raw) {
            norm += v * v;
        }
        norm = Math.sqrt(norm);
        float[] out = new float[dims];
        for (int i = 0; i < dims; i++) {
            out[i] = (float) (raw[i] / norm);
        }
        return out;
    }

    /** The vector before normalisation, sent by {@code /embed} when the request says {@code "normalize": false}. */
    public static float[] rawVectorFor(String text, int dims) {
        double[] raw = draw(text, dims);
        float[] out = new float[dims];
        for (int i = 0; i < dims; i++) {
            out[i] = (float) raw[i];
        }
        return out;
    }

    // Seeded from SHA-256 so the vector depends on the text only, not on the JVM or on call order.
    private static double[] draw(String text, int dims) {
        if (dims < 1) {
            throw new IllegalArgumentException("dims must be >= 1: " + dims);
        }
        byte[] digest;
        try {
            digest = MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        SplittableRandom random = new SplittableRandom(ByteBuffer.wrap(digest, 0, 8).getLong());
        double[] raw = new double[dims];
        for (int i = 0; i < dims; i++) {
            raw[i] = random.nextGaussian();
        }
        return raw;
    }

    /** Little-endian float32 bytes in standard Base64, as OpenAI sends for {@code encoding_format: base64}. */
    public static String base64(float[] vector) {
        ByteBuffer buf = ByteBuffer.allocate(vector.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : vector) {
            buf.putFloat(v);
        }
        return Base64.getEncoder().encodeToString(buf.array());
    }

    /** An RFC 1123 HTTP-date, for {@code Retry-After: <HTTP-date>} headers. */
    public static String httpDate(Instant instant) {
        return DateTimeFormatter.RFC_1123_DATE_TIME.format(instant.atOffset(ZoneOffset.UTC));
    }

    // ---------------------------------------------------------------- public types

    /**
     * One request as the server saw it.
     *
     * @param nanoTime  {@link System#nanoTime()} on arrival
     * @param path      request path, without the query
     * @param headers   request headers, names lower-cased, repeated values joined with ","
     * @param inputs    input texts in request order (empty if the body could not be read)
     * @param status    status the request is answered with, {@link #NO_RESPONSE} if the connection is dropped
     * @param arrivedAt wall-clock arrival time
     * @param method    HTTP method
     * @param behaviour the scripted behaviour applied, "normal" if none
     */
    public record Recorded(long nanoTime, String path, Map<String, String> headers, List<String> inputs, int status,
                           Instant arrivedAt, String method, String behaviour) {
        public Recorded {
            headers = Collections.unmodifiableMap(new TreeMap<>(headers));
            inputs = List.copyOf(inputs);
        }

        /** A header by case-insensitive name, or null. */
        public String header(String name) {
            return headers.get(name.toLowerCase(Locale.ROOT));
        }

        public int inputCount() {
            return inputs.size();
        }
    }

    /** A one-shot answer for the next request; see the static factories. */
    public static final class Behaviour {
        private enum Kind {
            NORMAL, STATUS, SLOW, DROP, TRUNCATE, MALFORMED, WRONG_COUNT, SHUFFLED, NAN, NULL, WRONG_DIMS,
            STALL_BODY, HUGE_BODY, ECHO_HEADERS
        }

        private final Kind kind;
        private final int status;
        private final String body;
        private final Map<String, String> headers;
        private final Duration delay;
        private final long bodyBytes;

        private Behaviour(Kind kind, int status, String body, Map<String, String> headers, Duration delay) {
            this(kind, status, body, headers, delay, 0);
        }

        private Behaviour(Kind kind, int status, String body, Map<String, String> headers, Duration delay, long bodyBytes) {
            this.kind = kind;
            this.status = status;
            this.body = body;
            this.headers = headers;
            this.delay = delay;
            this.bodyBytes = bodyBytes;
        }

        private static Behaviour of(Kind kind) {
            return new Behaviour(kind, 200, "", Map.of(), Duration.ZERO);
        }

        /** The normal answer; useful to script sequences such as "fail, succeed, fail". */
        public static Behaviour normal() {
            return of(Kind.NORMAL);
        }

        /** Answers {@code code} with an empty body. */
        public static Behaviour status(int code) {
            return status(code, "", Map.of());
        }

        /** Answers {@code code} with {@code body} (JSON content type if it looks like JSON, else text). */
        public static Behaviour status(int code, String body) {
            return status(code, body, Map.of());
        }

        /**
         * Answers {@code code} with {@code body} and extra response headers, e.g. 429 with
         * {@code Retry-After: 1}, {@code retry-after-ms: 200} or {@code x-ratelimit-reset-tokens: 6m0s}.
         */
        public static Behaviour status(int code, String body, Map<String, String> headers) {
            if (code < 100 || code > 999) {
                throw new IllegalArgumentException("bad status code: " + code);
            }
            return new Behaviour(Kind.STATUS, code, body == null ? "" : body,
                    Map.copyOf(Objects.requireNonNull(headers, "headers")), Duration.ZERO);
        }

        /** Waits {@code d} (on top of any latency), then answers normally; for client timeouts. */
        public static Behaviour slow(Duration d) {
            if (d == null || d.isNegative()) {
                throw new IllegalArgumentException("delay must be >= 0: " + d);
            }
            return new Behaviour(Kind.SLOW, 200, "", Map.of(), d);
        }

        /** Reads the request, then closes the connection without any response line: the client gets an IOException. */
        public static Behaviour dropConnection() {
            return of(Kind.DROP);
        }

        /**
         * Sends 200 headers with the full Content-Length and half of a normal body, then closes the connection:
         * the client gets an IOException while reading the body.
         */
        public static Behaviour truncatedBody() {
            return of(Kind.TRUNCATE);
        }

        /**
         * Sends 200 headers with the full Content-Length and the body's first bytes, then nothing more for
         * {@code stall} (the connection stays open; {@link #close()} ends it sooner): for whole-response deadlines.
         */
        public static Behaviour stallBodyAfterHeaders(Duration stall) {
            if (stall == null || stall.isNegative()) {
                throw new IllegalArgumentException("stall must be >= 0: " + stall);
            }
            return new Behaviour(Kind.STALL_BODY, 200, "", Map.of(), stall);
        }

        /**
         * 200 with a valid normal answer padded with white space to {@code bytes} bytes (Content-Length), generated
         * while it is written: the server never holds it. For response size caps; a client that reads it whole
         * would still get the right vectors.
         */
        public static Behaviour hugeBody(long bytes) {
            if (bytes < 1) {
                throw new IllegalArgumentException("bytes must be >= 1: " + bytes);
            }
            return new Behaviour(Kind.HUGE_BODY, 200, "", Map.of(), Duration.ZERO, bytes);
        }

        /**
         * Answers {@code code} with an OpenAI-style error body that echoes every request header (as some proxies and
         * debugging servers do), Authorization included: for checking that keys never reach stored messages.
         */
        public static Behaviour echoHeaders(int code) {
            if (code < 100 || code > 999) {
                throw new IllegalArgumentException("bad status code: " + code);
            }
            return new Behaviour(Kind.ECHO_HEADERS, code, "", Map.of(), Duration.ZERO);
        }

        /** 200 with a truncated JSON body. */
        public static Behaviour malformedJson() {
            return of(Kind.MALFORMED);
        }

        /** 200 with one vector fewer than there were inputs. */
        public static Behaviour wrongCount() {
            return of(Kind.WRONG_COUNT);
        }

        /**
         * 200 with the vectors in reverse order. OpenAI items keep their correct "index" (a correct client
         * re-aligns by index); TEI has no index, so on {@code /embed} the vectors are simply misplaced.
         */
        public static Behaviour shuffledIndexes() {
            return of(Kind.SHUFFLED);
        }

        /** 200 where the first vector's first value is a raw {@code NaN} token (NaN float bits in base64). */
        public static Behaviour nanValues() {
            return of(Kind.NAN);
        }

        /** 200 where the first vector's first value is {@code null} (the whole embedding is null in base64). */
        public static Behaviour nullValues() {
            return of(Kind.NULL);
        }

        /** 200 with vectors of one more dimension than asked for. */
        public static Behaviour wrongDimensions() {
            return of(Kind.WRONG_DIMS);
        }

        @Override
        public String toString() {
            switch (kind) {
                case STATUS:
                    return "status(" + status + ")";
                case SLOW:
                    return "slow(" + delay + ")";
                case STALL_BODY:
                    return "stall_body(" + delay + ")";
                case HUGE_BODY:
                    return "huge_body(" + bodyBytes + ")";
                case ECHO_HEADERS:
                    return "echo_headers(" + status + ")";
                default:
                    return kind.name().toLowerCase(Locale.ROOT);
            }
        }
    }

    // ---------------------------------------------------------------- handling

    /** What to send: decided on arrival so it can be recorded before any delay. */
    private record Reply(int status, Map<String, String> headers, byte[] body, Duration delay, boolean drop,
                         boolean truncate, Duration stall, long paddedLength) {
        Reply(int status, Map<String, String> headers, byte[] body, Duration delay, boolean drop, boolean truncate) {
            this(status, headers, body, delay, drop, truncate, null, 0);
        }

        static Reply json(int status, byte[] body) {
            return new Reply(status, Map.of("Content-Type", "application/json"), body, Duration.ZERO, false, false);
        }

        Reply delayed(Duration d) {
            return new Reply(status, headers, body, d, drop, truncate, stall, paddedLength);
        }
    }

    /** Parsed request: the texts plus the options that shape the answer. */
    private record Request(List<String> texts, String model, Integer dimensions, boolean base64, boolean normalize) {}

    /** Unwinds out of the handler so the JDK server closes the connection instead of answering. */
    private static final class DropConnection extends RuntimeException {
        private static final long serialVersionUID = 1L;

        DropConnection() {
            super("scripted connection drop", null, false, false);
        }
    }

    private static final class BadRequest extends Exception {
        private static final long serialVersionUID = 1L;

        BadRequest(String message) {
            super(message, null, false, false);
        }
    }

    private void handle(HttpExchange exchange) throws IOException {
        long nanoTime = System.nanoTime();
        Instant arrivedAt = Instant.now();
        int now = inFlight.incrementAndGet();
        maxInFlight.accumulateAndGet(now, Math::max);
        try {
            serve(exchange, nanoTime, arrivedAt);
        } catch (DropConnection e) {
            throw e; // the JDK server closes the connection when a handler throws
        } catch (Exception e) {
            // A client that gave up (e.g. its timeout during slow()) is expected; anything else is a bug here.
            String what = e instanceof IOException ? "I/O error (client gone?) on " : "error handling ";
            System.err.println(LOG_PREFIX + what + exchange.getRequestMethod() + " " + exchange.getRequestURI()
                    + ": " + e);
            if (!(e instanceof IOException)) {
                e.printStackTrace();
            }
            if (exchange.getResponseCode() == -1) {
                try {
                    send(exchange, Reply.json(500, errorBody(exchange.getRequestURI().getPath(), e.toString())));
                    return;
                } catch (IOException | RuntimeException ignored) {
                    // fall through: nothing more can be done for this connection
                }
            }
            throw new DropConnection();
        } finally {
            inFlight.decrementAndGet();
            exchange.close();
        }
    }

    private void serve(HttpExchange exchange, long nanoTime, Instant arrivedAt) throws IOException {
        String path = exchange.getRequestURI().getPath();
        String method = exchange.getRequestMethod();
        byte[] requestBody;
        try (InputStream in = exchange.getRequestBody()) {
            requestBody = in.readAllBytes();
        }

        List<String> texts = List.of();
        String applied = "normal";
        Reply reply;
        boolean openAi = OPENAI_PATH.equals(path);
        if (!openAi && !TEI_PATH.equals(path)) {
            reply = Reply.json(404, errorBody(path, "no route for " + path));
        } else if (!"POST".equals(method)) {
            reply = new Reply(405, Map.of("Allow", "POST", "Content-Type", "application/json"),
                    errorBody(path, "method not allowed: " + method), Duration.ZERO, false, false);
        } else {
            try {
                Request request = parse(requestBody, openAi);
                texts = request.texts();
                // Only well-formed embedding requests consume the script, so a client bug cannot eat a behaviour.
                Behaviour behaviour = script.poll();
                if (behaviour != null) {
                    applied = behaviour.toString();
                }
                reply = decide(behaviour == null ? Behaviour.normal() : behaviour, request, openAi, headersOf(exchange));
            } catch (BadRequest e) {
                reply = Reply.json(400, errorBody(path, e.getMessage()));
            }
        }

        record(new Recorded(nanoTime, path, headersOf(exchange), texts, reply.drop() ? NO_RESPONSE : reply.status(),
                arrivedAt, method, applied));

        sleep(latency.plus(reply.delay()));
        if (reply.drop()) {
            throw new DropConnection();
        }
        send(exchange, reply);
    }

    private void record(Recorded r) {
        synchronized (records) {
            records.add(r);
            inputs.addAndGet(r.inputs().size());
            characters.addAndGet(r.inputs().stream().mapToLong(String::length).sum());
        }
    }

    private static Map<String, String> headersOf(HttpExchange exchange) {
        Map<String, String> headers = new TreeMap<>();
        exchange.getRequestHeaders().forEach((name, values) ->
                headers.merge(name.toLowerCase(Locale.ROOT), String.join(",", values), (a, b) -> a + "," + b));
        return headers;
    }

    private static void sleep(Duration d) {
        if (d.isZero()) {
            return;
        }
        try {
            TimeUnit.NANOSECONDS.sleep(d.toNanos());
        } catch (InterruptedException e) {
            // Interrupted by close(): the connection is going away anyway.
            Thread.currentThread().interrupt();
            throw new DropConnection();
        }
    }

    private static void send(HttpExchange exchange, Reply reply) throws IOException {
        reply.headers().forEach((k, v) -> exchange.getResponseHeaders().set(k, v));
        byte[] body = reply.body();
        if (reply.paddedLength() > 0) {
            sendPadded(exchange, body, reply.paddedLength());
            return;
        }
        boolean noBody = body.length == 0 || reply.status() == 204 || reply.status() == 304 || reply.status() < 200;
        // Length 0 would mean "chunked" to the JDK server; -1 means no body.
        exchange.sendResponseHeaders(reply.status(), noBody ? -1 : body.length);
        if (noBody) {
            return;
        }
        OutputStream out = exchange.getResponseBody();
        if (reply.stall() != null) {
            out.write(body, 0, Math.min(body.length, 8));
            out.flush();
            sleep(reply.stall()); // the rest never comes; close() interrupts the wait
            throw new DropConnection();
        }
        if (reply.truncate()) {
            out.write(body, 0, body.length / 2);
            out.flush();
            throw new DropConnection(); // Content-Length promised more: the client sees a premature EOF
        }
        out.write(body);
        out.close();
    }

    /**
     * Writes {@code body} with white space after its first byte up to {@code length} bytes, block by block: valid
     * JSON of any size without holding it. Stops quietly when the client goes away.
     */
    private static void sendPadded(HttpExchange exchange, byte[] body, long length) throws IOException {
        exchange.sendResponseHeaders(200, length);
        OutputStream out = exchange.getResponseBody();
        out.write(body, 0, 1);
        byte[] spaces = new byte[64 * 1024];
        java.util.Arrays.fill(spaces, (byte) ' ');
        for (long pad = length - body.length; pad > 0; pad -= spaces.length) {
            out.write(spaces, 0, (int) Math.min(spaces.length, pad));
        }
        out.write(body, 1, body.length - 1);
        out.close();
    }

    private Request parse(byte[] body, boolean openAi) throws BadRequest {
        JsonNode root;
        try {
            root = MAPPER.readTree(body);
        } catch (IOException e) {
            throw new BadRequest("request body is not valid JSON: " + e.getMessage());
        }
        if (root == null || !root.isObject()) {
            throw new BadRequest("request body must be a JSON object");
        }
        String field = openAi ? "input" : "inputs";
        JsonNode input = root.get(field);
        List<String> texts = new ArrayList<>();
        if (input == null || input.isNull()) {
            throw new BadRequest("missing field '" + field + "'");
        } else if (input.isTextual()) {
            texts.add(input.textValue());
        } else if (input.isArray()) {
            for (JsonNode item : input) {
                // Token-id arrays are recorded in their JSON form; they still get a deterministic vector.
                texts.add(item.isTextual() ? item.textValue() : item.toString());
            }
        } else {
            throw new BadRequest("field '" + field + "' must be a string or an array");
        }

        JsonNode model = root.get("model");
        JsonNode dims = root.get("dimensions");
        if (openAi && dims != null && !dims.isNull() && (!dims.canConvertToInt() || dims.asInt() < 1)) {
            throw new BadRequest("'dimensions' must be a positive integer");
        }
        JsonNode format = root.get("encoding_format");
        JsonNode normalize = root.get("normalize");
        return new Request(texts,
                model != null && model.isTextual() ? model.textValue() : DEFAULT_MODEL,
                openAi && dims != null && !dims.isNull() ? dims.asInt() : null,
                openAi && format != null && "base64".equals(format.asText()),
                normalize == null || normalize.isNull() || normalize.asBoolean(true));
    }

    private Reply decide(Behaviour b, Request request, boolean openAi, Map<String, String> requestHeaders) throws IOException {
        switch (b.kind) {
            case STALL_BODY: {
                Reply normal = Reply.json(200, embeddings(b.kind, request, openAi));
                return new Reply(200, normal.headers(), normal.body(), Duration.ZERO, false, false, b.delay, 0);
            }
            case HUGE_BODY: {
                Reply normal = Reply.json(200, embeddings(b.kind, request, openAi));
                return new Reply(200, normal.headers(), normal.body(), Duration.ZERO, false, false, null,
                        Math.max(b.bodyBytes, normal.body().length));
            }
            case ECHO_HEADERS: {
                ObjectNode root = MAPPER.createObjectNode();
                ObjectNode error = root.putObject("error");
                error.put("message", "invalid request; the request headers were:");
                error.put("type", "invalid_request_error");
                ObjectNode echoed = error.putObject("headers");
                requestHeaders.forEach(echoed::put);
                return Reply.json(b.status, MAPPER.writeValueAsBytes(root));
            }
            case STATUS: {
                Map<String, String> headers = new LinkedHashMap<>();
                String trimmed = b.body.stripLeading();
                headers.put("Content-Type", trimmed.startsWith("{") || trimmed.startsWith("[")
                        ? "application/json" : "text/plain; charset=utf-8");
                headers.putAll(b.headers); // caller's headers win, including Content-Type
                return new Reply(b.status, headers, b.body.getBytes(StandardCharsets.UTF_8), Duration.ZERO,
                        false, false);
            }
            case DROP:
                return new Reply(NO_RESPONSE, Map.of(), new byte[0], Duration.ZERO, true, false);
            case MALFORMED:
                return Reply.json(200, (openAi ? "{\"data\": [" : "[[0.5, ").getBytes(StandardCharsets.UTF_8));
            case TRUNCATE: {
                Reply normal = Reply.json(200, embeddings(b.kind, request, openAi));
                return new Reply(200, normal.headers(), normal.body(), Duration.ZERO, false, true);
            }
            case SLOW:
                return Reply.json(200, embeddings(b.kind, request, openAi)).delayed(b.delay);
            default:
                return Reply.json(200, embeddings(b.kind, request, openAi));
        }
    }

    /** A 200 embeddings body, normal or bent by one of the "bad data" behaviours. */
    private byte[] embeddings(Behaviour.Kind kind, Request request, boolean openAi) throws IOException {
        int dims = request.dimensions() != null ? request.dimensions() : dimensions;
        if (kind == Behaviour.Kind.WRONG_DIMS) {
            dims++;
        }
        int n = request.texts().size();
        int count = kind == Behaviour.Kind.WRONG_COUNT ? Math.max(0, n - 1) : n;
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            order.add(i);
        }
        if (kind == Behaviour.Kind.SHUFFLED) {
            Collections.reverse(order);
        }

        ArrayNode vectors = MAPPER.createArrayNode();
        boolean first = true;
        for (int i : order) {
            String text = request.texts().get(i);
            float[] v = openAi || request.normalize() ? vectorFor(text, dims) : rawVectorFor(text, dims);
            boolean broken = first && (kind == Behaviour.Kind.NAN || kind == Behaviour.Kind.NULL);
            if (broken && kind == Behaviour.Kind.NAN) {
                v[0] = Float.NaN;
            }
            JsonNode embedding;
            if (openAi && request.base64()) {
                embedding = broken && kind == Behaviour.Kind.NULL ? MAPPER.nullNode() : MAPPER.getNodeFactory()
                        .textNode(base64(v));
            } else {
                ArrayNode values = MAPPER.createArrayNode();
                for (int d = 0; d < v.length; d++) {
                    if (broken && kind == Behaviour.Kind.NULL && d == 0) {
                        values.addNull();
                    } else {
                        values.add(v[d]); // NaN is written as a raw token: WRITE_NAN_AS_STRINGS is off
                    }
                }
                embedding = values;
            }
            if (openAi) {
                ObjectNode item = vectors.addObject();
                item.put("object", "embedding");
                item.put("index", i);
                item.set("embedding", embedding);
            } else {
                vectors.add(embedding);
            }
            first = false;
        }

        if (!openAi) {
            return MAPPER.writeValueAsBytes(vectors);
        }
        ObjectNode root = MAPPER.createObjectNode();
        root.put("object", "list");
        root.set("data", vectors);
        root.put("model", request.model());
        // A rough token estimate (about four characters a token); only its presence and growth matter to tests.
        long tokens = request.texts().stream().mapToLong(t -> Math.max(1, (t.length() + 3) / 4)).sum();
        ObjectNode usage = root.putObject("usage");
        usage.put("prompt_tokens", tokens);
        usage.put("total_tokens", tokens);
        return MAPPER.writeValueAsBytes(root);
    }

    private static byte[] errorBody(String path, String message) {
        ObjectNode root = MAPPER.createObjectNode();
        if (TEI_PATH.equals(path)) {
            root.put("error", message);
            root.put("error_type", "Validation");
        } else {
            ObjectNode error = root.putObject("error");
            error.put("message", message);
            error.put("type", "invalid_request_error");
        }
        try {
            return MAPPER.writeValueAsBytes(root);
        } catch (IOException e) {
            return "{\"error\":\"internal\"}".getBytes(StandardCharsets.UTF_8);
        }
    }
}
