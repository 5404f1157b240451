package dev.embedpipe.embed.remote;

import dev.embedpipe.util.Redaction;

/**
 * An answer that no retry and no other chunk can fix (401, 403, 404: a wrong key, URL or model). It stops the job
 * with one clear message instead of failing every row.
 */
public final class ProviderFatalException extends RuntimeException {
    public ProviderFatalException(String message) {
        super(Redaction.redact(message)); // it travels to the driver, the console and Spark's event log
    }
}
