package dev.embedpipe.embed;

/**
 * A session's request statistics, fed by events as they happen (from any of its request threads) and read as an
 * immutable {@link RequestStats} snapshot. Every event and every snapshot takes one lock, so a snapshot never
 * shows half an event (e.g. an attempt sent but not yet counted in flight).
 */
public final class RequestRecorder {
    private long requests;
    private long retries;
    private long throttled429;
    private long serverErrors;
    private long transportErrors;
    private long tokensSent;
    private long inputsSent;
    private long throttledNanos;
    private long inFlight;
    private final long[] latency = new long[RequestStats.BUCKETS];

    /** Attempt {@code attempt} (from 1) of a request goes on the wire with these inputs. */
    public synchronized void sent(int attempt, long tokens, int inputs) {
        requests++;
        retries += attempt > 1 ? 1 : 0;
        tokensSent += tokens;
        inputsSent += inputs;
        inFlight++;
    }

    /** An attempt got its answer (any status) after {@code latencyNanos}. */
    public synchronized void answered(long latencyNanos) {
        inFlight--;
        latency[RequestStats.bucket(latencyNanos)]++;
    }

    /** An attempt ended without an answer (timeout, reset, cut off, interrupted). */
    public synchronized void unanswered() {
        inFlight--;
    }

    public synchronized void rateLimited() {
        throttled429++;
    }

    public synchronized void serverError() {
        serverErrors++;
    }

    public synchronized void transportError() {
        transportErrors++;
    }

    /** Time spent waiting for the rate budget or for a 429's asked-for wait. */
    public synchronized void throttled(long nanos) {
        throttledNanos += nanos;
    }

    public synchronized RequestStats snapshot() {
        return new RequestStats(requests, retries, throttled429, serverErrors, transportErrors, tokensSent, inputsSent,
                throttledNanos, inFlight, latency);
    }
}
