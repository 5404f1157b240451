package dev.embedpipe.embed;

import java.io.Serializable;
import java.util.Arrays;

/**
 * What a session's requests cost and met, at one moment: counted per attempt (a retried request is paid again),
 * immutable, and summed across tasks with {@link #plus}. A session's {@link RequestRecorder} produces it from
 * events. Latencies are kept in a log-scale histogram so summing stays cheap.
 *
 * @param requests        HTTP attempts made
 * @param retries         attempts after the first of a request
 * @param throttled429    answers with status 429
 * @param serverErrors    408, 409 and 5xx answers
 * @param transportErrors timeouts, resets, malformed or oversized answers
 * @param tokensSent      tokens in every attempt's inputs
 * @param inputsSent      inputs in every attempt
 * @param throttledNanos  time spent waiting for the rate buckets and for a 429's Retry-After
 * @param inFlight        a gauge for live progress: attempts sent and not yet answered (not summed)
 * @param latency         attempts per latency bucket: bucket i holds latencies around 2^(i/4) ms
 */
public record RequestStats(long requests, long retries, long throttled429, long serverErrors, long transportErrors,
                           long tokensSent, long inputsSent, long throttledNanos, long inFlight, long[] latency)
        implements Serializable {
    static final int BUCKETS = 64; // 2^(i/4) ms: 1 ms .. ~60 000 s
    public static final RequestStats EMPTY = new RequestStats(0, 0, 0, 0, 0, 0, 0, 0, 0, new long[BUCKETS]);

    public RequestStats {
        if (latency.length != BUCKETS) {
            throw new IllegalArgumentException("latency histogram needs " + BUCKETS + " buckets, got " + latency.length);
        }
        latency = latency.clone();
    }

    @Override
    public long[] latency() {
        return latency.clone();
    }

    /** The bucket a latency falls in. */
    static int bucket(long nanos) {
        double ms = Math.max(1, nanos / 1e6);
        return (int) Math.min(BUCKETS - 1, Math.round(4 * Math.log(ms) / Math.log(2)));
    }

    /** These counts and {@code other}'s added up; the in-flight gauge stays this one's. */
    public RequestStats plus(RequestStats other) {
        long[] sum = latency.clone();
        for (int i = 0; i < BUCKETS; i++) {
            sum[i] += other.latency[i];
        }
        return new RequestStats(requests + other.requests, retries + other.retries, throttled429 + other.throttled429,
                serverErrors + other.serverErrors, transportErrors + other.transportErrors, tokensSent + other.tokensSent,
                inputsSent + other.inputsSent, throttledNanos + other.throttledNanos, inFlight, sum);
    }

    /** The latency (ms, bucket upper bound) below which {@code fraction} of the attempts fell; 0 with none. */
    public double latencyPercentileMs(double fraction) {
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

    public boolean isEmpty() {
        return requests == 0;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof RequestStats s && requests == s.requests && retries == s.retries && throttled429 == s.throttled429
                && serverErrors == s.serverErrors && transportErrors == s.transportErrors && tokensSent == s.tokensSent
                && inputsSent == s.inputsSent && throttledNanos == s.throttledNanos && inFlight == s.inFlight
                && Arrays.equals(latency, s.latency);
    }

    @Override
    public int hashCode() {
        return 31 * Long.hashCode(requests + 7 * tokensSent) + Arrays.hashCode(latency);
    }
}
