package dev.embedpipe.embed.remote;

import org.junit.jupiter.api.Test;

import java.net.http.HttpHeaders;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

class RetryAdviceTest {
    private static final Duration CAP = Duration.ofSeconds(30);

    private static Optional<Duration> advice(Map<String, String> headers, long now) {
        Map<String, List<String>> multi = new java.util.HashMap<>();
        headers.forEach((k, v) -> multi.put(k, List.of(v)));
        return RetryAdvice.fromHeaders(HttpHeaders.of(multi, (a, b) -> true), CAP, now);
    }

    @Test
    void everyFormTheServersUse() {
        long now = 1_700_000_000_000L;
        assertEquals(Optional.of(Duration.ofSeconds(2)), advice(Map.of("retry-after", "2"), now));
        assertEquals(Optional.of(Duration.ofMillis(1500)), advice(Map.of("retry-after", "1.5"), now));
        String date = DateTimeFormatter.RFC_1123_DATE_TIME.format(Instant.ofEpochMilli(now + 7000).atOffset(ZoneOffset.UTC));
        assertEquals(Optional.of(Duration.ofSeconds(7)), advice(Map.of("retry-after", date), now));
        assertEquals(Optional.of(Duration.ofMillis(250)), advice(Map.of("retry-after-ms", "250"), now));
        assertEquals(Optional.of(Duration.ofMillis(12)), advice(Map.of("x-ratelimit-reset-requests", "12ms"), now));
        assertEquals(Optional.of(Duration.ofSeconds(1)), advice(Map.of("x-ratelimit-reset-tokens", "1s"), now));
        assertEquals(Optional.of(Duration.ofMillis(2500)), advice(Map.of("x-ratelimit-reset-tokens", "2.5s", "retry-after", "1"), now),
                "the longest wait asked for wins");
    }

    @Test
    void missingNegativeAndAbsurdValuesFallBackOrAreCapped() {
        long now = 1_700_000_000_000L;
        assertEquals(Optional.empty(), advice(Map.of(), now));
        assertEquals(Optional.empty(), advice(Map.of("retry-after", "-1"), now));
        assertEquals(Optional.empty(), advice(Map.of("retry-after", "soon"), now));
        assertEquals(Optional.empty(), advice(Map.of("x-ratelimit-reset-requests", "6x"), now));
        assertEquals(Optional.of(CAP), advice(Map.of("x-ratelimit-reset-tokens", "6m0s"), now), "6 minutes is capped");
        assertEquals(Optional.of(CAP), advice(Map.of("retry-after", "86400"), now));
        String past = DateTimeFormatter.RFC_1123_DATE_TIME.format(Instant.ofEpochMilli(now - 5000).atOffset(ZoneOffset.UTC));
        assertEquals(Optional.empty(), advice(Map.of("retry-after", past), now));
    }

    @Test
    void goDurations() {
        assertEquals(Duration.ofMinutes(6), RetryAdvice.duration("6m0s"));
        assertEquals(Duration.ofMillis(3_723_500), RetryAdvice.duration("1h2m3.5s"));
        assertEquals(null, RetryAdvice.duration("0s"));
        assertEquals(null, RetryAdvice.duration("s"));
    }

    @Test
    void backoffIsFullJitterUnderAnExponentialCeiling() {
        for (int attempt = 1; attempt <= 10; attempt++) {
            Duration d = RetryAdvice.backoff(attempt, Duration.ofMillis(100), Duration.ofSeconds(2));
            assertThat(d.toMillis()).isBetween(0L, Math.min(2000L, 100L << (attempt - 1)));
        }
    }
}
