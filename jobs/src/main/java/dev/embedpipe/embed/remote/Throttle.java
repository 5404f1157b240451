package dev.embedpipe.embed.remote;

import io.github.bucket4j.Bandwidth;
import io.github.bucket4j.Bucket;

import java.time.Duration;
import java.util.function.IntFunction;
import java.util.function.LongConsumer;

/**
 * One task's share of the job's budgets: a requests bucket and a tokens bucket (Bucket4j). A request waits until
 * both allow it.
 *
 * <p>Why no 60-second window can exceed the budget: a bucket starts with at most its burst and refills at
 * {@code share - burst} per window (less a small {@link #SAFETY} margin), so any window sees at most
 * {@code burst + (share - burst) = share}; the task
 * shares add up to the job's budget. The burst is a small part of the share (1/50) but at least one request, and
 * a single request never asks for more tokens than the burst ({@link #maxTokensPerRequest()}).
 *
 * <p>After a 429 the task slows down (multiplicative decrease: each request is charged as if it were larger) and
 * speeds back up slowly on success (additive increase), so a 429 storm settles instead of hammering.
 */
public final class Throttle {
    static final int BURST_DIVISOR = 50;
    /**
     * Refill 2% below the share: a request's arrival at the server lags its start here by a varying delay (thread
     * scheduling, connection setup), and the margin absorbs that jitter (1.2 s of a minute; 100 ms of the 5 s
     * windows the tests use) so no window counted at the server goes over. Steady state: about 96% of the budget.
     */
    static final double SAFETY = 0.98;
    private static final double MIN_RATE = 1.0 / 16;
    private static final double RECOVERY_STEP = 0.1;

    private final Bucket requests;
    private final Bucket tokens;
    private final long requestBurstMilli;
    private final long tokenBurst;
    private final double requestRefillPerNano;
    private final double tokenRefillPerNano;
    private double rate = 1.0; // AIMD multiplier in [MIN_RATE, 1]

    /**
     * @param requestsPerWindow the task's share of requests (0: unlimited)
     * @param tokensPerWindow   the task's share of tokens (0: unlimited)
     */
    public Throttle(long requestsPerWindow, long tokensPerWindow, Duration window) {
        // requests are counted in thousandths so that a slowed-down task can be charged fractions
        this.requestBurstMilli = requestsPerWindow == 0 ? 0 : 1000L * Math.max(1, requestsPerWindow / BURST_DIVISOR);
        this.requests = requestsPerWindow == 0 ? null : bucket(1000L * requestsPerWindow, requestBurstMilli, window);
        this.tokenBurst = tokensPerWindow == 0 ? Long.MAX_VALUE : Math.max(1, tokensPerWindow / BURST_DIVISOR);
        this.tokens = tokensPerWindow == 0 ? null : bucket(tokensPerWindow, tokenBurst, window);
        this.requestRefillPerNano = (1000.0 * requestsPerWindow - requestBurstMilli) * SAFETY / window.toNanos();
        this.tokenRefillPerNano = (tokensPerWindow - (tokensPerWindow == 0 ? 0 : tokenBurst)) * SAFETY / window.toNanos();
    }

    private static Bucket bucket(long perWindow, long burst, Duration window) {
        long refill = Math.max(1, (long) ((perWindow - burst) * SAFETY));
        return Bucket.builder()
                .addLimit(Bandwidth.builder().capacity(burst).refillGreedy(refill, window).initialTokens(burst).build())
                .build();
    }

    /** The most tokens one request may carry so that it can ever pass the tokens bucket. */
    public long maxTokensPerRequest() {
        return tokenBurst;
    }

    /** Blocks until one request of {@code requestTokens} tokens may go; returns the nanoseconds waited. */
    public long acquire(long requestTokens) throws InterruptedException {
        long t0 = System.nanoTime();
        double slow = 1.0 / currentRate();
        if (requests != null) {
            consume(requests, Math.round(1000 * slow), requestBurstMilli, requestRefillPerNano);
        }
        if (tokens != null && requestTokens > 0) {
            consume(tokens, Math.max(1, Math.round(requestTokens * slow)), tokenBurst, tokenRefillPerNano);
        }
        return System.nanoTime() - t0;
    }

    /**
     * Takes {@code amount} from a bucket that holds at most {@code capacity}: a slowed-down charge larger than the
     * bucket takes the whole bucket and then waits as long as the rest would take to refill.
     */
    private static void consume(Bucket bucket, long amount, long capacity, double refillPerNano) throws InterruptedException {
        bucket.asBlocking().consume(Math.min(amount, capacity));
        if (amount > capacity && refillPerNano > 0) {
            long extraNanos = (long) ((amount - capacity) / refillPerNano);
            java.util.concurrent.TimeUnit.NANOSECONDS.sleep(extraNanos);
        }
    }

    /**
     * The throttle as a decorator around one attempt: waits for the budget (telling {@code onWaited} how long), runs
     * the attempt, then lets its verdict steer the rate: a 429 slows the task down, a success speeds it back up.
     */
    IntFunction<Verdict> around(long requestTokens, IntFunction<Verdict> attempt, LongConsumer onWaited) {
        return number -> {
            try {
                onWaited.accept(acquire(requestTokens));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for the rate budget", e);
            }
            Verdict verdict = attempt.apply(number);
            if (verdict instanceof Verdict.Success) {
                onSuccess();
            } else if (verdict instanceof Verdict.Retry retry && retry.cause() == Verdict.Retry.Cause.RATE_LIMITED) {
                onThrottled();
            }
            return verdict;
        };
    }

    public synchronized void onThrottled() {
        rate = Math.max(MIN_RATE, rate / 2);
    }

    /** Additive increase: from the floor back to full speed in about 10 successes (RateRecoveryBenchmark: under 10 s). */
    public synchronized void onSuccess() {
        rate = Math.min(1.0, rate + RECOVERY_STEP);
    }

    public synchronized double currentRate() {
        return rate;
    }
}
