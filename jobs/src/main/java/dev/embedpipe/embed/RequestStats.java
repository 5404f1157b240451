package dev.embedpipe.embed;

import java.io.Serializable;
import java.util.Arrays;

/**
 * What a session's requests cost and met: counted per attempt (a retried request is paid again), mergeable
 * across tasks. Latencies are kept in a log-scale histogram so merging stays cheap.
 */
public final class RequestStats implements Serializable {
    private static final int BUCKETS = 64; // 2^(i/4) ms: 1 ms .. ~60 000 s

    public long requests;      // HTTP attempts made
    public long retries;       // attempts after the first of a request
    public long throttled429;  // answers with status 429
    public long serverErrors;  // 5xx answers
    public long transportErrors; // timeouts, resets, malformed answers
    public long tokensSent;    // tokens in every attempt's inputs
    public long inputsSent;
    public long throttledNanos; // time spent waiting for the rate buckets and for Retry-After
    public long inFlight;      // a gauge for live progress: attempts sent and not yet answered (not summed)
    private final long[] latency = new long[BUCKETS];

    public synchronized void recordLatency(long nanos) {
        double ms = Math.max(1, nanos / 1e6);
        int bucket = (int) Math.min(BUCKETS - 1, Math.round(4 * Math.log(ms) / Math.log(2)));
        latency[bucket]++;
    }

    public synchronized void add(RequestStats other) {
        RequestStats o = other.snapshot();
        requests += o.requests;
        retries += o.retries;
        throttled429 += o.throttled429;
        serverErrors += o.serverErrors;
        transportErrors += o.transportErrors;
        tokensSent += o.tokensSent;
        inputsSent += o.inputsSent;
        throttledNanos += o.throttledNanos;
        for (int i = 0; i < BUCKETS; i++) {
            latency[i] += o.latency[i];
        }
    }

    public synchronized RequestStats snapshot() {
        RequestStats copy = new RequestStats();
        copy.requests = requests;
        copy.retries = retries;
        copy.throttled429 = throttled429;
        copy.serverErrors = serverErrors;
        copy.transportErrors = transportErrors;
        copy.tokensSent = tokensSent;
        copy.inputsSent = inputsSent;
        copy.throttledNanos = throttledNanos;
        copy.inFlight = inFlight;
        System.arraycopy(latency, 0, copy.latency, 0, BUCKETS);
        return copy;
    }

    /** The latency (ms, bucket upper bound) below which {@code fraction} of the attempts fell; 0 with none. */
    public synchronized double latencyPercentileMs(double fraction) {
        long total = Arrays.stream(latency).sum();
        if (total == 0) {
            return 0;
        }
        long rank = (long) Math.ceil(fraction * total);
        long seen = 0;
        for (int i = 0; i < BUCKETS; i++) {
            seen += latency[i];
            if (seen >= rank) {
                return Math.round(Math.pow(2, (i + 0.5) / 4.0));
            }
        }
        return Math.pow(2, BUCKETS / 4.0);
    }

    public synchronized boolean isEmpty() {
        return requests == 0;
    }
}
