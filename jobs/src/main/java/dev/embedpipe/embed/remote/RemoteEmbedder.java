package dev.embedpipe.embed.remote;

import dev.embedpipe.config.EmbedpipeConfig;
import dev.embedpipe.embed.Embedder;
import dev.embedpipe.embed.ModelInfo;
import dev.embedpipe.embed.RequestRecorder;
import dev.embedpipe.embed.RequestStats;
import dev.embedpipe.util.Redaction;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The shared machinery of every remote provider: one HTTP client per configuration per JVM (the JVM's proxy and
 * trust-store settings apply), and per task a {@link Session} with its share of the budgets, retries, response
 * validation and accounting. Providers supply only the {@link WireFormat}.
 */
public final class RemoteEmbedder implements Embedder {
    /** How much of an error answer's body is read, and how much of it (redacted) the errors table keeps. */
    private static final int SNIPPET_BYTES = 4096;
    private static final int SNIPPET_CHARS = 300;

    private final ModelInfo model;
    private final WireFormat wire;
    private final String defaultKeyEnv;
    private final HttpClient client;
    /** Vector size: configured, known for the model, or learned from the first good answer in this JVM. */
    private final AtomicReference<Integer> dimensions = new AtomicReference<>();

    RemoteEmbedder(ModelInfo model, WireFormat wire, String defaultKeyEnv, EmbedpipeConfig config) {
        this.model = model;
        this.wire = wire;
        this.defaultKeyEnv = defaultKeyEnv;
        this.dimensions.set(model.dimensions() > 0 ? model.dimensions() : null);
        this.client = HttpCalls.newClient(Duration.ofSeconds(config.limits().requestTimeoutS()));
    }

    @Override
    public ModelInfo model() {
        return model;
    }

    @Override
    public RequestShape shape(EmbedpipeConfig config, int concurrentTasks) {
        // A request never carries more tokens than the task's token burst, or it could never pass the bucket.
        long burst = throttle(config, concurrentTasks).maxTokensPerRequest();
        return new RequestShape(config.limits().maxInputsPerRequest(), Math.min(config.limits().maxTokensPerRequest(), burst),
                config.limits().maxInFlight(), false);
    }

    private static Throttle throttle(EmbedpipeConfig config, int concurrentTasks) {
        EmbedpipeConfig.Limits limits = config.limits();
        int share = Math.max(1, concurrentTasks);
        return new Throttle(ceilDiv(limits.requestsPerMinute(), share), ceilDiv(limits.tokensPerMinute(), share),
                Duration.ofSeconds(limits.windowSeconds()));
    }

    /** The task's budgets are the job's divided by the tasks that run at once. */
    @Override
    public Session openSession(EmbedpipeConfig config, int concurrentTasks) {
        return new RemoteSession(config, throttle(config, concurrentTasks));
    }

    private static long ceilDiv(long total, int parts) {
        return total == 0 ? 0 : Math.max(1, total / parts);
    }

    final class RemoteSession implements Session {
        private final EmbedpipeConfig config;
        private final EmbedpipeConfig.Limits limits;
        private final Throttle throttle;
        private final RequestRecorder recorder = new RequestRecorder();
        private final String apiKey;
        private final URI endpoint;
        private final StatusPolicy policy;
        private final RetryPolicy retries;
        /** The most tokens one request may carry: the packer's cap under {@link #shape}, so it never splits. */
        private final long tokenCap;

        RemoteSession(EmbedpipeConfig config, Throttle throttle) {
            this.config = config;
            this.limits = config.limits();
            this.throttle = throttle;
            this.apiKey = ApiKey.resolve(config.embedder(), defaultKeyEnv);
            this.endpoint = wire.endpoint(config.embedder());
            this.tokenCap = Math.min(limits.maxTokensPerRequest(), throttle.maxTokensPerRequest());
            this.policy = new StatusPolicy(endpoint.toString(), ApiKey.source(config.embedder(), defaultKeyEnv),
                    limits.requestTimeoutS(), Duration.ofSeconds(limits.maxRetryWaitS()));
            // the time a 429 made us wait counts as throttled, like the rate buckets' waits
            this.retries = new RetryPolicy(limits.maxAttempts(), RetryPolicy.BACKOFF_BASE, Duration.ofSeconds(limits.maxRetryWaitS()),
                    (retry, wait) -> {
                        if (retry.cause() == Verdict.Retry.Cause.RATE_LIMITED) {
                            recorder.throttled(wait.toNanos());
                        }
                    });
        }

        @Override
        public RequestStats stats() {
            return recorder.snapshot();
        }

        /**
         * Sends the request as packed (one HTTP request, retried as a whole); inputs over the token limits are
         * never sent, never truncated: they get an {@code input_too_long} error each.
         */
        @Override
        public EmbeddingBatch embed(List<EmbeddingInput> inputs) {
            int n = inputs.size();
            float[][] vectors = new float[n][];
            EmbeddingError[] errors = new EmbeddingError[n];
            List<Integer> send = new ArrayList<>(n);
            List<String> texts = new ArrayList<>(n);
            long tokens = 0;
            for (int i = 0; i < n; i++) {
                int count = inputs.get(i).tokenCount();
                if (count > limits.maxInputTokens() || count > tokenCap) {
                    // the chunker should have prevented it
                    errors[i] = new EmbeddingError("input_too_long", 0, 0, null, false, "input has " + count
                            + " tokens, over limits.max_input_tokens (" + limits.maxInputTokens() + ") or the task's token burst ("
                            + tokenCap + ")");
                } else {
                    send.add(i);
                    texts.add(inputs.get(i).text());
                    tokens += count;
                }
            }
            if (!send.isEmpty()) {
                Outcome outcome = send(buildRequest(texts), texts, tokens);
                for (int k = 0; k < send.size(); k++) {
                    if (outcome.vectors != null) {
                        vectors[send.get(k)] = outcome.vectors[k];
                    } else {
                        errors[send.get(k)] = outcome.error;
                    }
                }
            }
            return new EmbeddingBatch(vectors, errors);
        }

        private record Outcome(float[][] vectors, EmbeddingError error) {}

        /** The request for these texts, exactly as it is sent (contract tests check it against the API spec). */
        HttpRequest buildRequest(List<String> texts) {
            HttpRequest.Builder builder = HttpRequest.newBuilder(endpoint)
                    .timeout(Duration.ofSeconds(limits.requestTimeoutS()))
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofByteArray(wire.body(config.embedder(), texts)));
            config.embedder().headers().forEach(builder::header);
            String[] auth = wire.authHeader(config.embedder(), apiKey);
            if (auth != null) {
                builder.header(auth[0], auth[1]);
            }
            return builder.build();
        }

        /** The request's attempts: retries around the throttle around the wire. */
        private Outcome send(HttpRequest request, List<String> texts, long tokens) {
            Verdict verdict = retries.run(throttle.around(tokens, attempt -> attempt(request, texts.size(), tokens, attempt),
                    recorder::throttled));
            if (verdict instanceof Verdict.Success success) {
                return new Outcome(success.vectors(), null);
            }
            return new Outcome(null, verdict instanceof Verdict.FailPermanent failed ? failed.error() : ((Verdict.Retry) verdict).error());
        }

        /** One admitted attempt: over the wire, then the verdict feeds the counts. */
        private Verdict attempt(HttpRequest request, int inputs, long tokens, int attempt) {
            recorder.sent(attempt, tokens, inputs);
            Verdict verdict = exchange(request, inputs, attempt);
            if (verdict instanceof Verdict.Success success) {
                float[][] vectors = success.vectors();
                dimensions.compareAndSet(null, vectors.length > 0 ? vectors[0].length : null);
            } else if (verdict instanceof Verdict.FailAuth fatal) {
                throw new ProviderFatalException(fatal.message());
            } else if (verdict instanceof Verdict.Retry retry) {
                switch (retry.cause()) {
                    case TRANSPORT, BAD_RESPONSE -> recorder.transportError();
                    case RATE_LIMITED -> recorder.rateLimited();
                    case SERVER_ERROR -> recorder.serverError();
                }
            }
            return verdict;
        }

        /** One attempt over the wire, classified by the status policy. */
        private Verdict exchange(HttpRequest request, int inputs, int attempt) {
            long t0 = System.nanoTime();
            StatusPolicy.Answer answer = null;
            try {
                answer = HttpCalls.exchange(client, request, Duration.ofSeconds(limits.requestTimeoutS()),
                        limits.maxResponseBytes(), (response, body) -> answer(response, body, inputs));
            } catch (IOException e) {
                return policy.classify(e, attempt);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for an answer", e);
            } finally {
                if (answer != null) {
                    recorder.answered(System.nanoTime() - t0);
                } else {
                    recorder.unanswered();
                }
            }
            return policy.classify(answer, attempt, System.currentTimeMillis());
        }

        /**
         * Reads one answer within its deadline: a 2xx is parsed straight from the stream into vectors (or what is
         * wrong with it); any other status keeps the start of its body, for the errors table.
         */
        private StatusPolicy.Answer answer(HttpResponse<InputStream> response, InputStream body, int inputs) throws IOException {
            int status = response.statusCode();
            String requestId = response.headers().firstValue(wire.requestIdHeader()).orElse(null);
            if (status / 100 != 2) {
                return new StatusPolicy.Answer(status, response.headers(), requestId, null, snippet(body.readNBytes(SNIPPET_BYTES)));
            }
            try {
                return new StatusPolicy.Answer(status, response.headers(), requestId, wire.parse(body, inputs, dimensions.get()), null);
            } catch (BadResponseException e) {
                return new StatusPolicy.Answer(status, response.headers(), requestId, null, e.getMessage());
            }
        }
    }

    /**
     * The start of an error body, for the errors table. Redacted before it is cut, so that a key the body echoes is
     * never cut into a fragment that no longer looks like a key.
     */
    private static String snippet(byte[] body) {
        String text = Redaction.redact(new String(body, StandardCharsets.UTF_8)).replaceAll("\\s+", " ").strip();
        text = text.substring(0, Math.min(text.length(), SNIPPET_CHARS));
        return text.isEmpty() ? "(empty body)" : text;
    }
}
