package dev.embedpipe.embed.remote;

import dev.embedpipe.embed.Embedder.EmbeddingError;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntFunction;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

/** The throttle as a decorator around an attempt, with scripted verdicts in place of the wire: no server. */
class ThrottleDecoratorTest {
    private static final Verdict OK = new Verdict.Success(new float[][] {{1f}});

    private static Verdict.Retry retry(Verdict.Retry.Cause cause) {
        return new Verdict.Retry(cause, new EmbeddingError("x", 0, 1, null, true, "m"), null);
    }

    @Test
    void eachAttemptWaitsForTheBudgetBeforeItRuns() {
        // 100 requests a second: a burst of 2, then one about every 10 ms
        Throttle throttle = new Throttle(100, 0, Duration.ofSeconds(1));
        List<String> order = new ArrayList<>();
        long[] waited = new long[1];
        IntFunction<Verdict> decorated = throttle.around(0, n -> {
            order.add("call " + n);
            return OK;
        }, nanos -> {
            order.add("admitted");
            waited[0] += nanos;
        });
        long t0 = System.nanoTime();
        for (int i = 1; i <= 12; i++) {
            assertSame(OK, decorated.apply(i));
        }
        long elapsedMs = (System.nanoTime() - t0) / 1_000_000;
        assertEquals("admitted", order.get(0));
        assertEquals("call 1", order.get(1));
        assertEquals(24, order.size(), "one admission before every call");
        // 10 requests past the burst at ~10.4 ms each
        assertThat(elapsedMs).isGreaterThanOrEqualTo(90);
        assertThat(waited[0] / 1_000_000).as("the waits reported are the time spent").isBetween(80L, elapsedMs);
    }

    @Test
    void aRateLimitedVerdictSlowsTheTaskAndSuccessesSpeedItBackUp() {
        Throttle throttle = new Throttle(0, 0, Duration.ofSeconds(1)); // unlimited: only the rate multiplier moves
        Verdict[] next = {retry(Verdict.Retry.Cause.RATE_LIMITED)};
        IntFunction<Verdict> decorated = throttle.around(10, n -> next[0], nanos -> { });
        decorated.apply(1);
        assertEquals(0.5, throttle.currentRate(), 1e-9);
        decorated.apply(2);
        assertEquals(0.25, throttle.currentRate(), 1e-9);
        next[0] = retry(Verdict.Retry.Cause.SERVER_ERROR);
        decorated.apply(3);
        assertEquals(0.25, throttle.currentRate(), 1e-9, "a 5xx is not a rate signal");
        next[0] = new Verdict.FailPermanent(new EmbeddingError("http_400", 400, 1, null, false, "m"));
        decorated.apply(4);
        assertEquals(0.25, throttle.currentRate(), 1e-9);
        next[0] = OK;
        decorated.apply(5);
        assertEquals(0.35, throttle.currentRate(), 1e-9, "additive increase");
        for (int i = 0; i < 20; i++) {
            decorated.apply(6 + i);
        }
        assertEquals(1.0, throttle.currentRate(), 1e-9, "never above full speed");
    }

    @Test
    void aSlowedDownTaskWaitsLongerForTheSameRequests() {
        Throttle fast = new Throttle(100, 0, Duration.ofSeconds(1));
        Throttle slow = new Throttle(100, 0, Duration.ofSeconds(1));
        slow.onThrottled(); // half speed: each request is charged twice
        assertThat(timeFor(slow, 8)).isGreaterThan(timeFor(fast, 8) + 40);
    }

    private static long timeFor(Throttle throttle, int requests) {
        IntFunction<Verdict> decorated = throttle.around(0, n -> retry(Verdict.Retry.Cause.SERVER_ERROR), nanos -> { });
        long t0 = System.nanoTime();
        for (int i = 1; i <= requests; i++) {
            decorated.apply(i);
        }
        return (System.nanoTime() - t0) / 1_000_000;
    }
}
