package dev.embedpipe.embed.remote;

import dev.embedpipe.embed.Embedder.EmbeddingError;
import io.github.resilience4j.core.functions.Either;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

/** The retry policy with RetryAdvice as its interval function, driven by scripted verdicts: no server. */
class RetryPolicyTest {
    private static final Duration BASE = Duration.ofMillis(20);
    private static final Duration CAP = Duration.ofSeconds(2);

    private static Verdict.Retry retry(Verdict.Retry.Cause cause, Duration retryAfter, int attempt) {
        return new Verdict.Retry(cause, new EmbeddingError("x", 429, attempt, null, true, "m"), retryAfter);
    }

    @Test
    void aWaitTheServerAskedForIsHonouredThenTheRequestSucceeds() {
        List<Duration> waits = new ArrayList<>();
        RetryPolicy policy = new RetryPolicy(5, BASE, CAP, (r, wait) -> waits.add(wait));
        Verdict.Success ok = new Verdict.Success(new float[][] {{1f}});
        long t0 = System.nanoTime();
        Verdict result = policy.run(attempt -> attempt < 3 ? retry(Verdict.Retry.Cause.RATE_LIMITED, Duration.ofMillis(300), attempt) : ok);
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertSame(ok, result);
        assertEquals(List.of(Duration.ofMillis(300), Duration.ofMillis(300)), waits);
        assertThat(ms).as("both asked-for waits were slept").isGreaterThanOrEqualTo(600);
    }

    @Test
    void theIntervalFunctionIsRetryAdvice() {
        List<Duration> seen = new ArrayList<>();
        var interval = RetryPolicy.interval(Duration.ofMillis(500), Duration.ofSeconds(4), (r, wait) -> seen.add(wait));
        assertEquals(1234L, interval.apply(1, Either.right(retry(Verdict.Retry.Cause.SERVER_ERROR, Duration.ofMillis(1234), 1))),
                "Retry-After wins over backoff");
        for (int attempt = 1; attempt <= 6; attempt++) {
            long ceiling = Math.min(4000, 500L << (attempt - 1));
            for (int i = 0; i < 50; i++) {
                long ms = interval.apply(attempt, Either.right(retry(Verdict.Retry.Cause.TRANSPORT, null, attempt)));
                assertThat(ms).as("attempt %d: full jitter under min(cap, base*2^(n-1))", attempt).isBetween(0L, ceiling);
            }
        }
        assertEquals(1 + 6 * 50, seen.size(), "every wait is reported with its verdict");
    }

    @Test
    void theAttemptCapHoldsAndTheLastVerdictIsTheRequests() {
        AtomicInteger calls = new AtomicInteger();
        List<Duration> waits = new ArrayList<>();
        RetryPolicy policy = new RetryPolicy(3, BASE, CAP, (r, wait) -> waits.add(wait));
        Verdict result = policy.run(attempt -> {
            calls.incrementAndGet();
            return retry(Verdict.Retry.Cause.SERVER_ERROR, Duration.ofMillis(10), attempt);
        });
        assertEquals(3, calls.get());
        assertEquals(2, waits.size(), "no wait after the last attempt");
        assertEquals(3, ((Verdict.Retry) result).error().attempts());
    }

    @Test
    void permanentFailuresAndExceptionsAreNeverRetried() {
        AtomicInteger calls = new AtomicInteger();
        RetryPolicy policy = new RetryPolicy(5, BASE, CAP, (r, wait) -> { });
        Verdict.FailPermanent bad = new Verdict.FailPermanent(new EmbeddingError("http_400", 400, 1, null, false, "m"));
        assertSame(bad, policy.run(attempt -> {
            calls.incrementAndGet();
            return bad;
        }));
        assertEquals(1, calls.get());
        assertThatThrownBy(() -> policy.run(attempt -> {
            calls.incrementAndGet();
            throw new ProviderFatalException("HTTP 401");
        })).isInstanceOf(ProviderFatalException.class);
        assertEquals(2, calls.get());
    }
}
