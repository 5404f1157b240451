package dev.embedpipe.embed.remote;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.embedpipe.config.EmbedpipeConfig;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.ThreadLocalRandom;

/**
 * OpenAI's Batch API as embedpipe uses it: upload a JSONL file ({@code POST /files}, purpose {@code batch}), create
 * a batch of {@code /v1/embeddings} requests from it, read, list and cancel batches, download result files. Every
 * call goes through {@link #exchange}: retries on 429, 5xx and transport errors as the live path does, a request
 * timeout and a deadline on the whole answer.
 */
public final class BatchApi {
    static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration BACKOFF_BASE = Duration.ofMillis(500);
    /** Batch files may be up to 200 MB: their transfers get this long, JSON calls limits.request_timeout_s. */
    private static final Duration FILE_DEADLINE = Duration.ofMinutes(30);

    private final HttpClient client;
    private final EmbedpipeConfig.Embedder embedder;
    private final EmbedpipeConfig.Limits limits;
    private final String apiKey;

    public BatchApi(EmbedpipeConfig config) {
        this.embedder = new OpenAiProvider().withDefaults(config).embedder();
        this.limits = config.limits();
        this.apiKey = ApiKey.resolve(embedder, "OPENAI_API_KEY");
        this.client = HttpCalls.newClient(Duration.ofSeconds(limits.requestTimeoutS()));
    }

    /** A batch as the API reports it; {@code errors} holds batch-level error codes (e.g. token_limit_exceeded). */
    public record Batch(String id, String status, String inputFileId, String outputFileId, String errorFileId,
                        long total, long completed, long failed, Map<String, String> metadata, List<String[]> errors) {
        public boolean finished() {
            return switch (status) {
                case "completed", "failed", "expired", "cancelled" -> true;
                default -> false;
            };
        }

        static Batch of(JsonNode b) {
            JsonNode counts = b.path("request_counts");
            Map<String, String> metadata = new java.util.HashMap<>();
            b.path("metadata").fields().forEachRemaining(e -> metadata.put(e.getKey(), e.getValue().asText()));
            List<String[]> errors = new ArrayList<>();
            b.path("errors").path("data").forEach(e -> errors.add(new String[] {e.path("code").asText(""), e.path("message").asText("")}));
            return new Batch(b.path("id").asText(), b.path("status").asText(""), text(b, "input_file_id"),
                    text(b, "output_file_id"), text(b, "error_file_id"), counts.path("total").asLong(),
                    counts.path("completed").asLong(), counts.path("failed").asLong(), metadata, errors);
        }

        private static String text(JsonNode n, String field) {
            JsonNode v = n.get(field);
            return v == null || v.isNull() ? null : v.asText();
        }
    }

    /** An answer the API refused for good (a 4xx other than 408/409/429). */
    public static final class RefusedException extends RuntimeException {
        public final int status;

        RefusedException(int status, String message) {
            super(message);
            this.status = status;
        }
    }

    /** Uploads a batch input file; returns its file id. */
    public String upload(String filename, byte[] jsonl) {
        return exchange(uploadRequest(filename, jsonl), FILE_DEADLINE).path("id").asText();
    }

    public Batch create(String inputFileId, Map<String, String> metadata) {
        return Batch.of(exchange(createRequest(inputFileId, metadata), timeout()));
    }

    public Batch get(String batchId) {
        return Batch.of(exchange(getRequest(batchId), timeout()));
    }

    public Batch cancel(String batchId) {
        return Batch.of(exchange(cancelRequest(batchId), timeout()));
    }

    /** Every batch of the organisation, newest first, at most {@code max} of them (to adopt ours by metadata). */
    public List<Batch> list(int max) {
        List<Batch> all = new ArrayList<>();
        String after = null;
        while (all.size() < max) {
            JsonNode page = exchange(listRequest(after), timeout());
            page.path("data").forEach(b -> all.add(Batch.of(b)));
            if (!page.path("has_more").asBoolean(false) || page.path("data").isEmpty()) {
                break;
            }
            after = all.get(all.size() - 1).id();
        }
        return all;
    }

    /**
     * A result file's content (JSONL, up to gigabytes for 50,000 large vectors), streamed to a temporary file that the
     * caller reads line by line and deletes.
     */
    public java.nio.file.Path content(String fileId) {
        java.nio.file.Path target;
        try {
            target = java.nio.file.Files.createTempFile("embedpipe-batch-", ".jsonl");
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("cannot create a temporary file for batch results", e);
        }
        // To disk, not memory: no byte cap beyond the disk's; the deadline still covers the whole transfer.
        return send(contentRequest(fileId), body -> {
            java.nio.file.Files.copy(body, target, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            return target;
        }, FILE_DEADLINE, Long.MAX_VALUE);
    }


    // The requests exactly as they are sent (the contract test checks each against the API description).

    HttpRequest cancelRequest(String batchId) {
        return request("/batches/" + enc(batchId) + "/cancel").POST(HttpRequest.BodyPublishers.noBody()).build();
    }

    HttpRequest contentRequest(String fileId) {
        return request("/files/" + enc(fileId) + "/content").GET().build();
    }

    HttpRequest uploadRequest(String filename, byte[] jsonl) {
        String boundary = "embedpipe-" + Long.toHexString(ThreadLocalRandom.current().nextLong());
        ByteArrayOutputStream body = new ByteArrayOutputStream(jsonl.length + 512);
        String head = "--" + boundary + "\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n"
                + "--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" + filename.replace("\"", "")
                + "\"\r\nContent-Type: application/jsonl\r\n\r\n";
        body.writeBytes(head.getBytes(StandardCharsets.UTF_8));
        body.writeBytes(jsonl);
        body.writeBytes(("\r\n--" + boundary + "--\r\n").getBytes(StandardCharsets.UTF_8));
        return request("/files").header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.ofByteArray(body.toByteArray())).build();
    }

    HttpRequest createRequest(String inputFileId, Map<String, String> metadata) {
        ObjectNode body = JSON.createObjectNode();
        body.put("input_file_id", inputFileId);
        body.put("endpoint", "/v1/embeddings");
        body.put("completion_window", "24h");
        ObjectNode meta = body.putObject("metadata");
        metadata.forEach(meta::put);
        return request("/batches").header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(WireFormat.bytes(body))).build();
    }

    HttpRequest listRequest(String after) {
        return request("/batches?limit=100" + (after == null ? "" : "&after=" + enc(after))).GET().build();
    }

    HttpRequest getRequest(String batchId) {
        return request("/batches/" + enc(batchId)).GET().build();
    }

    private HttpRequest.Builder request(String path) {
        HttpRequest.Builder b = HttpRequest.newBuilder(WireFormat.join(embedder.baseUrl(), path))
                .timeout(Duration.ofSeconds(limits.requestTimeoutS()));
        embedder.headers().forEach(b::header);
        String[] auth = new OpenAiWireFormat().authHeader(embedder, apiKey);
        if (auth != null) {
            b.header(auth[0], auth[1]);
        }
        return b;
    }

    private Duration timeout() {
        return Duration.ofSeconds(limits.requestTimeoutS());
    }

    private JsonNode exchange(HttpRequest request, Duration deadline) {
        byte[] body = send(request, deadline);
        try {
            return JSON.readTree(body);
        } catch (IOException e) {
            throw new RefusedException(200, request.method() + " " + request.uri().getPath() + ": the answer is not JSON");
        }
    }

    private byte[] send(HttpRequest request, Duration deadline) {
        return send(request, InputStream::readAllBytes, deadline, limits.maxResponseBytes());
    }

    /**
     * The one place batch mode talks HTTP: the answer's body within {@code deadline} (the whole answer, not just its
     * headers), retried as the live path retries (429, 408, 409, 5xx, timeouts, broken connections), fatal on
     * 401/403/404. {@code bytesOf} reads a refused answer's body for the message.
     */
    private <T> T send(HttpRequest request, SuccessReader<T> onSuccess, Duration deadline, long maxBytes) {
        Duration cap = Duration.ofSeconds(limits.maxRetryWaitS());
        String what = request.method() + " " + request.uri().getPath();
        String last = null;
        for (int attempt = 1; attempt <= limits.maxAttempts(); attempt++) {
            Duration delay = RetryAdvice.backoff(attempt, BACKOFF_BASE, cap);
            try {
                Answer<T> answer = HttpCalls.exchange(client, request, deadline, maxBytes, (response, body) -> {
                    int status = response.statusCode();
                    if (status / 100 == 2) {
                        return new Answer<>(status, onSuccess.read(body), null, response.headers());
                    }
                    byte[] head = body.readNBytes(300);
                    return new Answer<>(status, null, head, response.headers());
                });
                int status = answer.status();
                if (status / 100 == 2) {
                    return answer.value();
                }
                String snippet = dev.embedpipe.util.Redaction.redact(
                        new String(answer.errorHead(), StandardCharsets.UTF_8).replaceAll("\\s+", " ").strip());
                if (status == 401 || status == 403 || status == 404) {
                    throw new ProviderFatalException("the Batch API at " + embedder.baseUrl() + " answered HTTP " + status + " to "
                            + what + (status == 404 ? " (does the server implement /files and /batches?)"
                            : " (check the API key: " + ApiKey.source(embedder, "OPENAI_API_KEY") + ")"));
                }
                if (!(status == 429 || status == 408 || status == 409 || status / 100 == 5)) {
                    throw new RefusedException(status, what + " answered HTTP " + status + ": " + snippet);
                }
                last = "HTTP " + status + ": " + snippet;
                delay = RetryAdvice.fromHeaders(answer.headers(), cap, System.currentTimeMillis()).orElse(delay);
            } catch (HttpCalls.ResponseTooLargeException e) {
                last = "answer larger than limits.max_response_bytes (" + e.limit() + " bytes)";
            } catch (HttpTimeoutException e) {
                last = "no whole answer (connect, headers and body) within " + deadline.toSeconds() + " s";
            } catch (IOException e) {
                last = e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while calling " + what, e);
            }
            if (attempt < limits.maxAttempts()) {
                try {
                    TimeUnit.MILLISECONDS.sleep(delay.toMillis());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted while backing off " + what, e);
                }
            }
        }
        throw new TransientException(what + " failed after " + limits.maxAttempts() + " attempts: " + last);
    }

    /** Reads a 2xx answer's body (capped and under the deadline). */
    @FunctionalInterface
    private interface SuccessReader<T> {
        T read(InputStream body) throws IOException;
    }

    /** One answer: a 2xx's value, or another status's first bytes for the message. */
    private record Answer<T>(int status, T value, byte[] errorHead, java.net.http.HttpHeaders headers) {}

    /** Retries ran out on a call that may work later (429, 5xx, timeouts): polling keeps waiting, submitting stops. */
    public static final class TransientException extends RuntimeException {
        TransientException(String message) {
            super(message);
        }
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }
}
