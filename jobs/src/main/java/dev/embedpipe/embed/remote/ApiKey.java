package dev.embedpipe.embed.remote;

import dev.embedpipe.config.ConfigLoader;
import dev.embedpipe.config.EmbedpipeConfig;
import dev.embedpipe.util.Redaction;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Finds the API key on the machine that sends the requests: in a file ({@code embedder.api_key_file}; a bare name
 * is also looked up among the files spark-submit shipped with {@code --files}) or in an environment variable
 * ({@code embedder.api_key_env}). Never in the YAML, and never logged: error messages name where the key was
 * looked for, not what it is, and every key read is registered with {@link Redaction}.
 */
final class ApiKey {
    private ApiKey() {}

    /**
     * The key, or null when none is configured (local OpenAI-compatible servers often need none). A key found is
     * registered with {@link Redaction}, so this JVM never prints or stores it.
     */
    static String resolve(EmbedpipeConfig.Embedder config, String defaultEnv) {
        String key = read(config, defaultEnv);
        Redaction.register(key);
        return key;
    }

    /**
     * Registers for redaction, on the driver before anything runs, the key where it can already be read and the
     * values of secret-named extra headers ({@code embedder.headers}). Best effort: a key file that only executors
     * have is registered there by {@link #resolve}.
     */
    static void registerSecrets(EmbedpipeConfig.Embedder config, String defaultEnv) {
        config.headers().forEach((name, value) -> {
            if (ConfigLoader.isSecretName(name)) {
                Redaction.register(value);
            }
        });
        try {
            resolve(config, defaultEnv);
        } catch (RuntimeException notHere) {
            // not readable on this machine: the executors register it when they read it
        }
    }

    private static String read(EmbedpipeConfig.Embedder config, String defaultEnv) {
        if (!config.apiKeyFile().isBlank()) {
            Path path = locate(config.apiKeyFile());
            try {
                return Files.readString(path, StandardCharsets.UTF_8).trim();
            } catch (IOException e) {
                throw new ProviderFatalException("cannot read the API key file named by embedder.api_key_file ("
                        + config.apiKeyFile() + "): " + e.getClass().getSimpleName());
            }
        }
        String env = config.apiKeyEnv().isBlank() ? defaultEnv : config.apiKeyEnv();
        if (env == null || env.isBlank()) {
            return null;
        }
        String value = System.getenv(env);
        return value == null || value.isBlank() ? null : value.trim();
    }

    /** Where the key is looked for, for messages. */
    static String source(EmbedpipeConfig.Embedder config, String defaultEnv) {
        if (!config.apiKeyFile().isBlank()) {
            return "the file " + config.apiKeyFile() + " (embedder.api_key_file)";
        }
        String env = config.apiKeyEnv().isBlank() ? defaultEnv : config.apiKeyEnv();
        return env == null || env.isBlank() ? "no key (embedder.api_key_env / api_key_file unset)"
                : "the environment variable " + env + " (embedder.api_key_env)";
    }

    private static Path locate(String name) {
        Path path = Path.of(name);
        if (path.isAbsolute() || Files.exists(path)) {
            return path;
        }
        try {
            Path shipped = Path.of(org.apache.spark.SparkFiles.get(name));
            if (Files.exists(shipped)) {
                return shipped;
            }
        } catch (RuntimeException | LinkageError notInSpark) {
            // outside a Spark task: only the plain path applies
        }
        return path;
    }
}
