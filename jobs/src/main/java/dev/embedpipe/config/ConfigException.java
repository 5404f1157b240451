package dev.embedpipe.config;

/** A usage or configuration error: reported as one line naming the key or flag, exit code 2, before Spark starts. */
public final class ConfigException extends RuntimeException {
    public ConfigException(String message) {
        super(message);
    }
}
