package dev.embedpipe.embed.remote;

import dev.embedpipe.embed.Embedder.EmbeddingError;

import java.time.Duration;

/**
 * What one attempt of a remote request came to, as {@link StatusPolicy} reads it. The retry policy retries
 * {@link Retry}, the throttle slows down on {@link Retry.Cause#RATE_LIMITED}, and the statistics count each kind.
 */
sealed interface Verdict {
    /** A good answer: one vector per input, in order. */
    record Success(float[][] vectors) implements Verdict {}

    /**
     * Worth another attempt. {@code retryAfter} is the wait the server asked for (already capped), or null when it
     * asked for none and jittered backoff decides.
     */
    record Retry(Cause cause, EmbeddingError error, Duration retryAfter) implements Verdict {
        enum Cause { RATE_LIMITED, SERVER_ERROR, TRANSPORT, BAD_RESPONSE }
    }

    /** No attempt can do better for these inputs (a 4xx other than the ones below): the error is final. */
    record FailPermanent(EmbeddingError error) implements Verdict {}

    /** No request can succeed (bad key, forbidden, wrong URL or model): the job stops with this one line. */
    record FailAuth(int status, String message) implements Verdict {}
}
