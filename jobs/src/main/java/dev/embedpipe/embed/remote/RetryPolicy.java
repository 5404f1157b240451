package dev.embedpipe.embed.remote;

import io.github.resilience4j.core.IntervalBiFunction;
import io.github.resilience4j.retry.Retry;
import io.github.resilience4j.retry.RetryConfig;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiConsumer;
import java.util.function.IntFunction;

/**
 * The retries of one remote request: resilience4j-retry runs the attempts (at most {@code limits.max_attempts}),
 * retrying a {@link Verdict.Retry} and nothing else; {@link RetryAdvice} is its interval function, so a wait the
 * server asked for is honoured (capped at {@code limits.max_retry_wait_s}) and otherwise full-jitter backoff
 * decides. After the last attempt nobody waits; its verdict is the request's. Exceptions are never retried
 * (a fatal answer, an interrupt): they end the request at once.
 */
final class RetryPolicy {
    static final Duration BACKOFF_BASE = Duration.ofMillis(500);

    private final Retry retry;

    /** @param onWait sees every wait before it starts, with the verdict that caused it (the rate-limit time is counted) */
    RetryPolicy(int maxAttempts, Duration backoffBase, Duration cap, BiConsumer<Verdict.Retry, Duration> onWait) {
        RetryConfig config = RetryConfig.<Verdict>custom()
                .maxAttempts(maxAttempts)
                .retryOnResult(verdict -> verdict instanceof Verdict.Retry)
                .retryOnException(e -> false)
                .intervalBiFunction(interval(backoffBase, cap, onWait))
                .build();
        this.retry = Retry.of("embedpipe-remote-request", config);
    }

    /**
     * {@link RetryAdvice} as resilience4j's interval function: the server's wait when it gave one, else jittered
     * backoff for {@code attempt} (the attempts made so far).
     */
    static IntervalBiFunction<Verdict> interval(Duration backoffBase, Duration cap, BiConsumer<Verdict.Retry, Duration> onWait) {
        return (attempt, result) -> {
            Verdict.Retry retry = result.isRight() && result.get() instanceof Verdict.Retry r ? r : null;
            Duration wait = retry != null && retry.retryAfter() != null ? retry.retryAfter()
                    : RetryAdvice.backoff(attempt, backoffBase, cap);
            if (retry != null) {
                onWait.accept(retry, wait);
            }
            return wait.toMillis();
        };
    }

    /** Runs {@code attempt} (given its number, from 1) until it stops asking for a retry or the attempts run out. */
    Verdict run(IntFunction<Verdict> attempt) {
        AtomicInteger number = new AtomicInteger();
        return retry.executeSupplier(() -> attempt.apply(number.incrementAndGet()));
    }
}
