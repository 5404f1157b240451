package dev.embedpipe.embed;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** Request statistics fed by events from many threads, read as immutable snapshots. */
class RequestRecorderTest {
    private static final int THREADS = 8;
    private static final int ATTEMPTS = 20_000;

    @Test
    void concurrentEventsAddUpAndEverySnapshotIsWholeAndFrozen() throws Exception {
        RequestRecorder recorder = new RequestRecorder();
        CountDownLatch start = new CountDownLatch(1);
        AtomicBoolean done = new AtomicBoolean();
        AtomicReference<String> torn = new AtomicReference<>();
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < THREADS; t++) {
            Thread thread = new Thread(() -> {
                try {
                    start.await();
                } catch (InterruptedException e) {
                    return;
                }
                for (int i = 0; i < ATTEMPTS; i++) {
                    recorder.sent(i % 4 == 0 ? 1 : 2, 10, 3); // every fourth attempt is a first one
                    recorder.throttled(5);
                    if (i % 10 == 0) {
                        recorder.rateLimited();
                    }
                    recorder.answered(2_000_000); // 2 ms
                }
            });
            thread.start();
            threads.add(thread);
        }
        Thread reader = new Thread(() -> {
            while (!done.get()) {
                RequestStats s = recorder.snapshot();
                long answered = Arrays.stream(s.latency()).sum();
                // one lock per event: a snapshot never sees an attempt both sent and answered only in part
                if (s.requests() != answered + s.inFlight() || s.tokensSent() != 10 * s.requests() || s.inFlight() < 0) {
                    torn.compareAndSet(null, s.toString());
                }
            }
        });
        reader.start();
        start.countDown();
        for (Thread t : threads) {
            t.join();
        }
        done.set(true);
        reader.join();
        assertNull(torn.get(), "a torn snapshot");

        RequestStats total = recorder.snapshot();
        long n = (long) THREADS * ATTEMPTS;
        assertEquals(n, total.requests());
        assertEquals(n * 3 / 4, total.retries());
        assertEquals(n * 10, total.tokensSent());
        assertEquals(n * 3, total.inputsSent());
        assertEquals(n * 5, total.throttledNanos());
        assertEquals(n / 10, total.throttled429());
        assertEquals(0, total.inFlight());
        assertEquals(2, total.latencyPercentileMs(0.5), 1.0);

        // frozen: later events and edits of the array handed out leave a snapshot as it was
        recorder.sent(1, 99, 1);
        total.latency()[0] = 12345;
        assertEquals(n, total.requests());
        assertEquals(0, total.latency()[0]);
        assertEquals(n + 1, recorder.snapshot().requests());
        assertEquals(1, recorder.snapshot().inFlight());
    }

    @Test
    void snapshotsSumAcrossTasksAndTheGaugeIsNotSummed() {
        RequestRecorder a = new RequestRecorder();
        RequestRecorder b = new RequestRecorder();
        a.sent(1, 100, 2);
        a.answered(50_000_000);
        a.sent(2, 100, 2); // still in flight
        b.sent(1, 7, 1);
        b.unanswered();
        b.transportError();
        b.sent(2, 7, 1);
        b.answered(1_000_000);
        b.serverError();
        RequestStats sum = RequestStats.EMPTY.plus(a.snapshot()).plus(b.snapshot());
        assertEquals(4, sum.requests());
        assertEquals(2, sum.retries());
        assertEquals(214, sum.tokensSent());
        assertEquals(6, sum.inputsSent());
        assertEquals(1, sum.transportErrors());
        assertEquals(1, sum.serverErrors());
        assertEquals(0, sum.inFlight(), "a gauge of live progress: summing it would count finished tasks");
        assertEquals(2, Arrays.stream(sum.latency()).sum());
        assertThat(sum.latencyPercentileMs(0.99)).isBetween(45.0, 60.0);
        assertThat(RequestStats.EMPTY.isEmpty()).isTrue();
        assertThat(sum.isEmpty()).isFalse();
        assertEquals(sum, RequestStats.EMPTY.plus(a.snapshot()).plus(b.snapshot()), "equal by value");
    }
}
