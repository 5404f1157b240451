package dev.embedpipe.embed.remote;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.ConnectException;
import java.net.http.HttpHeaders;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** The status policy as a table: every status class, header form and transport failure, no server. */
class StatusPolicyTest {
    private static final long NOW = 1_700_000_000_000L;
    private final StatusPolicy policy = new StatusPolicy("http://127.0.0.1:1/v1/embeddings", "the environment variable K",
            30, Duration.ofSeconds(20));

    private static HttpHeaders headers(Map<String, String> values) {
        Map<String, List<String>> map = new java.util.HashMap<>();
        values.forEach((k, v) -> map.put(k, List.of(v)));
        return HttpHeaders.of(map, (a, b) -> true);
    }

    private Verdict classify(int status, Map<String, String> headers) {
        return policy.classify(new StatusPolicy.Answer(status, headers(headers), "req-1", null, "body start"), 3, NOW);
    }

    @ParameterizedTest(name = "HTTP {0} -> {1} {2}")
    @CsvSource({
            "200, Retry, bad_response",        // a 2xx whose body did not parse into vectors
            "400, FailPermanent, http_400",
            "413, FailPermanent, http_413",
            "422, FailPermanent, http_422",
            "401, FailAuth, ",
            "403, FailAuth, ",
            "404, FailAuth, ",
            "408, Retry, server_error",
            "409, Retry, server_error",
            "429, Retry, rate_limited",
            "500, Retry, server_error",
            "502, Retry, server_error",
            "503, Retry, server_error",
            "599, Retry, server_error"})
    void eachStatusHasOneOutcome(int status, String kind, String errorClass) {
        Verdict verdict = classify(status, Map.of());
        assertEquals(kind, verdict.getClass().getSimpleName());
        if (verdict instanceof Verdict.Retry r) {
            assertEquals(errorClass, r.error().errorClass());
            assertEquals(status, r.error().httpStatus());
            assertEquals(3, r.error().attempts());
            assertEquals("req-1", r.error().requestId());
            assertThat(r.error().retriable()).isTrue();
            assertNull(r.retryAfter(), "no header: the backoff decides");
        } else if (verdict instanceof Verdict.FailPermanent f) {
            assertEquals(errorClass, f.error().errorClass());
            assertThat(f.error().retriable()).isFalse();
            assertEquals("body start", f.error().message());
        } else if (verdict instanceof Verdict.FailAuth a) {
            assertEquals(status, a.status());
            assertThat(a.message()).contains("HTTP " + status).contains(status == 404 ? "embedder.base_url" : "environment variable K");
        }
    }

    @Test
    void causesSayWhichCounterAndWhetherTheThrottleSlowsDown() {
        assertEquals(Verdict.Retry.Cause.RATE_LIMITED, ((Verdict.Retry) classify(429, Map.of())).cause());
        assertEquals(Verdict.Retry.Cause.SERVER_ERROR, ((Verdict.Retry) classify(503, Map.of())).cause());
        assertEquals(Verdict.Retry.Cause.BAD_RESPONSE, ((Verdict.Retry) classify(200, Map.of())).cause());
    }

    @Test
    void aGood2xxIsSuccessWithItsVectors() {
        float[][] vectors = {{1f, 2f}};
        Verdict v = policy.classify(new StatusPolicy.Answer(201, headers(Map.of()), null, vectors, null), 1, NOW);
        assertThat(v).isInstanceOf(Verdict.Success.class);
        assertThat(((Verdict.Success) v).vectors()).isSameAs(vectors);
    }

    @Test
    void retryAfterIsReadFor429And5xxAndCappedButNeverForPermanentFailures() {
        assertEquals(Duration.ofSeconds(3), ((Verdict.Retry) classify(429, Map.of("retry-after", "3"))).retryAfter());
        assertEquals(Duration.ofMillis(250), ((Verdict.Retry) classify(503, Map.of("retry-after-ms", "250"))).retryAfter());
        assertEquals(Duration.ofSeconds(20), ((Verdict.Retry) classify(429, Map.of("retry-after", "3600"))).retryAfter(),
                "capped at limits.max_retry_wait_s");
        String in5s = java.time.format.DateTimeFormatter.RFC_1123_DATE_TIME.format(
                java.time.Instant.ofEpochMilli(NOW + 5000).atZone(java.time.ZoneOffset.UTC));
        assertEquals(Duration.ofSeconds(5), ((Verdict.Retry) classify(429, Map.of("retry-after", in5s))).retryAfter(),
                "a date counts from the time the answer arrived");
        assertThat(classify(400, Map.of("retry-after", "3"))).isInstanceOf(Verdict.FailPermanent.class);
    }

    @Test
    void everyTransportFailureIsRetriedAfterBackoff() {
        Verdict timeout = policy.classify(new HttpTimeoutException("slow"), 2);
        Verdict tooLarge = policy.classify(new HttpCalls.ResponseTooLargeException(1024), 2);
        Verdict reset = policy.classify(new ConnectException("Connection refused"), 2);
        Verdict bare = policy.classify(new IOException(), 2);
        for (Verdict v : List.of(timeout, tooLarge, reset, bare)) {
            assertThat(v).isInstanceOf(Verdict.Retry.class);
            assertEquals(Verdict.Retry.Cause.TRANSPORT, ((Verdict.Retry) v).cause());
            assertNull(((Verdict.Retry) v).retryAfter());
            assertEquals(2, ((Verdict.Retry) v).error().attempts());
        }
        assertEquals("timeout", ((Verdict.Retry) timeout).error().errorClass());
        assertThat(((Verdict.Retry) timeout).error().message()).contains("30 s");
        assertEquals("response_too_large", ((Verdict.Retry) tooLarge).error().errorClass());
        assertThat(((Verdict.Retry) tooLarge).error().message()).contains("1024 bytes");
        assertEquals("connection", ((Verdict.Retry) reset).error().errorClass());
        assertEquals("ConnectException: Connection refused", ((Verdict.Retry) reset).error().message());
        assertEquals("IOException", ((Verdict.Retry) bare).error().message());
    }
}
