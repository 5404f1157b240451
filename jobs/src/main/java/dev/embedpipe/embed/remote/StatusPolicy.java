package dev.embedpipe.embed.remote;

import dev.embedpipe.embed.Embedder.EmbeddingError;

import java.io.IOException;
import java.net.http.HttpHeaders;
import java.net.http.HttpTimeoutException;
import java.time.Duration;

/**
 * How an answer (or a failure to get one) is classified: a pure function of the status, the headers and what the
 * body parsed to, so every case is a row of a table test. The context fields only word the messages and cap the
 * server's {@code Retry-After}.
 *
 * @param endpoint        where requests go, for the fatal message
 * @param keySource       where the API key came from, for the fatal message
 * @param requestTimeoutS limits.request_timeout_s, for the timeout message
 * @param retryWaitCap    limits.max_retry_wait_s: the longest wait a server may ask for
 */
record StatusPolicy(String endpoint, String keySource, long requestTimeoutS, Duration retryWaitCap) {

    /** One answer as read: the vectors of a good 2xx, else {@code problem} (what is wrong, or the body's start). */
    record Answer(int status, HttpHeaders headers, String requestId, float[][] vectors, String problem) {}

    /** An answer that arrived, on attempt {@code attempt}, at {@code nowMillis} (for date-valued Retry-After). */
    Verdict classify(Answer answer, int attempt, long nowMillis) {
        int status = answer.status();
        String requestId = answer.requestId();
        if (status / 100 == 2) {
            if (answer.vectors() != null) {
                return new Verdict.Success(answer.vectors());
            }
            return new Verdict.Retry(Verdict.Retry.Cause.BAD_RESPONSE,
                    new EmbeddingError("bad_response", status, attempt, requestId, true, answer.problem()), null);
        }
        if (status == 401 || status == 403 || status == 404) {
            return new Verdict.FailAuth(status, "the embedding API at " + endpoint + " answered HTTP " + status
                    + (status == 404 ? " (check embedder.base_url and embedder.model)" : " (check the API key: " + keySource + ")"));
        }
        boolean rateLimited = status == 429;
        if (!rateLimited && status != 408 && status != 409 && status / 100 != 5) {
            return new Verdict.FailPermanent(new EmbeddingError("http_" + status, status, attempt, requestId, false,
                    answer.problem()));
        }
        EmbeddingError error = new EmbeddingError(rateLimited ? "rate_limited" : "server_error", status, attempt, requestId,
                true, answer.problem());
        Duration asked = RetryAdvice.fromHeaders(answer.headers(), retryWaitCap, nowMillis).orElse(null);
        return new Verdict.Retry(rateLimited ? Verdict.Retry.Cause.RATE_LIMITED : Verdict.Retry.Cause.SERVER_ERROR, error, asked);
    }

    /** An attempt without a usable answer: every kind is retried, after backoff. */
    Verdict classify(IOException e, int attempt) {
        EmbeddingError error;
        if (e instanceof HttpTimeoutException) {
            error = new EmbeddingError("timeout", 0, attempt, null, true, "no complete answer (connect, headers and body) "
                    + "within limits.request_timeout_s (" + requestTimeoutS + " s)");
        } else if (e instanceof HttpCalls.ResponseTooLargeException tooLarge) {
            // a bad answer like any other, but cut off unread: memory never grows with it
            error = new EmbeddingError("response_too_large", 200, attempt, null, true, "answer larger than "
                    + "limits.max_response_bytes (" + tooLarge.limit() + " bytes), cut off; fewer "
                    + "limits.max_inputs_per_request or a higher limit may fit");
        } else {
            error = new EmbeddingError("connection", 0, attempt, null, true, e.getClass().getSimpleName()
                    + (e.getMessage() == null ? "" : ": " + e.getMessage()));
        }
        return new Verdict.Retry(Verdict.Retry.Cause.TRANSPORT, error, null);
    }
}
