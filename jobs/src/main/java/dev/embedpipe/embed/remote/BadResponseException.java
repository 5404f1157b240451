package dev.embedpipe.embed.remote;

import dev.embedpipe.util.Redaction;

/** A 2xx answer that cannot be trusted (malformed, wrong count, wrong dimensions, non-finite values): retried. */
public final class BadResponseException extends Exception {
    public BadResponseException(String message) {
        super(Redaction.redact(message));
    }
}
