package dev.embedpipe.config;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Reads the configuration: the bundled defaults ({@code embedpipe-defaults.yaml}, which also define the set of
 * known keys), then the user's YAML file, then command-line flags, then {@code --set key=value}, each layer
 * overriding the one before. Every error names the key and what is allowed.
 */
public final class ConfigLoader {
    public static final Set<String> DUPLICATE_ID_MODES = Set.of("keep-first", "reject-all", "allow");
    public static final Set<String> COMPRESSIONS = Set.of("zstd", "snappy", "gzip", "none");
    /** Keys whose value is a free-form mapping (any names allowed inside). */
    private static final Set<String> FREE_FORM = Set.of("embedder.headers", "spark.conf");

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory())
            .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .disable(com.fasterxml.jackson.databind.MapperFeature.ALLOW_COERCION_OF_SCALARS);

    private ConfigLoader() {}

    /**
     * @param configFile the user's YAML, or null for none
     * @param flagValues values from dedicated flags (--input, --output, --master), by YAML key
     * @param sets       raw {@code key=value} strings from --set, applied last
     */
    public static EmbedpipeConfig load(Path configFile, Map<String, Object> flagValues, List<String> sets) {
        return load(null, configFile, flagValues, sets);
    }

    /**
     * As {@link #load(Path, Map, List)}, starting from a recorded configuration (a manifest's {@code config}) laid
     * over the defaults, so a redrive runs with what the run it continues had.
     */
    public static EmbedpipeConfig load(JsonNode recorded, Path configFile, Map<String, Object> flagValues, List<String> sets) {
        ObjectNode tree = defaults();
        if (recorded != null) {
            if (!recorded.isObject()) {
                throw new ConfigException("the manifest's config is not a mapping");
            }
            ObjectNode copy = ((ObjectNode) recorded).deepCopy();
            forEachFreeForm(copy, map -> map.properties().removeIf(e -> REDACTED.equals(e.getValue().asText())));
            merge(tree, copy, "");
        }
        if (configFile != null) {
            if (!Files.isRegularFile(configFile)) {
                throw new ConfigException("--config " + configFile + ": no such file");
            }
            JsonNode user;
            try {
                user = YAML.readTree(configFile.toFile());
            } catch (IOException e) {
                throw new ConfigException("--config " + configFile + ": not valid YAML: " + firstLine(e.getMessage()));
            }
            if (user != null && !user.isMissingNode() && !user.isNull()) {
                if (!user.isObject()) {
                    throw new ConfigException("--config " + configFile + ": must be a YAML mapping of keys");
                }
                merge(tree, (ObjectNode) user, "");
            }
        }
        for (Map.Entry<String, Object> flag : flagValues.entrySet()) {
            set(tree, flag.getKey(), YAML.valueToTree(flag.getValue()));
        }
        for (String assignment : sets) {
            int eq = assignment.indexOf('=');
            if (eq <= 0) {
                throw new ConfigException("--set " + assignment + ": expected key=value, e.g. --set chunk.max_tokens=128");
            }
            String key = assignment.substring(0, eq).trim();
            set(tree, key, parseScalar(assignment.substring(eq + 1)));
        }
        EmbedpipeConfig config = bind(tree);
        validate(config);
        return config;
    }

    /** The configuration with every key at its default (used by tests and by {@code load}). */
    public static EmbedpipeConfig defaultsWith(Map<String, Object> values) {
        return load(null, values, List.of());
    }

    /** Every known key (dotted path) with its default, for help text and manifests. */
    public static List<String> knownKeys() {
        List<String> keys = new ArrayList<>();
        collectKeys(defaults(), "", keys);
        return keys;
    }

    /**
     * The configuration as a tree for the manifest, with secret-looking values of the free-form maps (HTTP headers,
     * Spark settings such as fs.s3a.secret.key) replaced by {@link #REDACTED}; a redrive takes those from its own
     * configuration again.
     */
    public static JsonNode toTree(EmbedpipeConfig config) {
        ObjectNode tree = YAML.valueToTree(config);
        forEachFreeForm(tree, map -> map.properties().forEach(e -> {
            if (isSecretName(e.getKey())) {
                e.setValue(YAML.getNodeFactory().textNode(REDACTED));
            }
        }));
        return tree;
    }

    public static final String REDACTED = "*********(redacted)";
    private static final java.util.regex.Pattern SECRET_KEY =
            java.util.regex.Pattern.compile("(?i)secret|password|token|access[.]?key|api[._-]?key|authorization|bearer|credential");

    /** Whether a free-form key (an HTTP header, a Spark setting) names a secret: its value is never shown. */
    public static boolean isSecretName(String key) {
        return SECRET_KEY.matcher(key).find();
    }

    private static void forEachFreeForm(ObjectNode tree, java.util.function.Consumer<ObjectNode> action) {
        for (String dotted : FREE_FORM) {
            String[] parts = dotted.split("\\.");
            JsonNode node = tree;
            for (String part : parts) {
                node = node == null ? null : node.get(part);
            }
            if (node instanceof ObjectNode map) {
                action.accept(map);
            }
        }
    }

    private static ObjectNode defaults() {
        try (InputStream in = ConfigLoader.class.getResourceAsStream("/embedpipe-defaults.yaml")) {
            if (in == null) {
                throw new IllegalStateException("embedpipe-defaults.yaml missing from the classpath");
            }
            return (ObjectNode) YAML.readTree(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void merge(ObjectNode target, ObjectNode source, String prefix) {
        Iterator<Map.Entry<String, JsonNode>> fields = source.fields();
        while (fields.hasNext()) {
            Map.Entry<String, JsonNode> field = fields.next();
            String key = prefix + field.getKey();
            JsonNode known = target.get(field.getKey());
            if (known == null) {
                throw unknownKey(key);
            }
            if (known.isObject() && FREE_FORM.contains(key)) {
                if (!field.getValue().isObject()) {
                    throw new ConfigException(key + ": must be a mapping of names to values");
                }
                target.set(field.getKey(), field.getValue());
            } else if (known.isObject()) {
                if (!field.getValue().isObject()) {
                    throw new ConfigException(key + ": must be a mapping with keys " + childKeys((ObjectNode) known));
                }
                merge((ObjectNode) known, (ObjectNode) field.getValue(), key + ".");
            } else {
                target.set(field.getKey(), field.getValue());
            }
        }
    }

    private static void set(ObjectNode tree, String dottedKey, JsonNode value) {
        String[] parts = dottedKey.split("\\.");
        ObjectNode node = tree;
        for (int i = 0; i < parts.length - 1; i++) {
            JsonNode child = node.get(parts[i]);
            if (child == null || !child.isObject()) {
                throw unknownKey(dottedKey);
            }
            node = (ObjectNode) child;
        }
        JsonNode old = node.get(parts[parts.length - 1]);
        if (old == null || (old.isObject() && !FREE_FORM.contains(dottedKey))) {
            throw unknownKey(dottedKey);
        }
        node.set(parts[parts.length - 1], value);
    }

    private static JsonNode parseScalar(String raw) {
        try {
            JsonNode node = YAML.readTree(raw);
            return node == null || node.isMissingNode() ? YAML.getNodeFactory().textNode("") : node;
        } catch (IOException e) {
            return YAML.getNodeFactory().textNode(raw);
        }
    }

    private static EmbedpipeConfig bind(ObjectNode tree) {
        try {
            return YAML.treeToValue(tree, EmbedpipeConfig.class);
        } catch (MismatchedInputException e) {
            String key = e.getPath().stream()
                    .map(ref -> ref.getFieldName() != null ? ref.getFieldName() : "[" + ref.getIndex() + "]")
                    .collect(Collectors.joining(".")).replace(".[", "[");
            String expected = e.getTargetType() == null ? "another type" : describe(e.getTargetType());
            throw new ConfigException(key + ": expected " + expected + ", got " + valueAt(tree, key));
        } catch (IOException e) {
            throw new ConfigException("configuration: " + firstLine(e.getMessage()));
        }
    }

    private static void validate(EmbedpipeConfig c) {
        EmbedpipeConfig.Input in = c.input();
        requireText("input.id_field", in.idField());
        requireText("input.text_field", in.textField());
        if (in.idField().equals(in.textField())) {
            throw new ConfigException("input.id_field and input.text_field: must name different fields, both are '" + in.idField() + "'");
        }
        oneOf("input.duplicate_ids", in.duplicateIds(), DUPLICATE_ID_MODES);
        range("input.max_line_bytes", in.maxLineBytes(), 1024, 1L << 30);
        range("input.split_bytes", in.splitBytes(), 1L << 20, Long.MAX_VALUE);
        range("input.partition_bytes", in.partitionBytes(), 1L << 16, Long.MAX_VALUE);
        for (String p : in.paths()) {
            requireText("input.paths[]", p);
        }
        oneOf("output.compression", c.output().compression(), COMPRESSIONS);
        oneOf("output.commit", c.output().commit(), Set.of("auto", "rename", "manifest"));
        range("output.lease_timeout_s", c.output().leaseTimeoutS(), 5, 86_400);
        oneOf("output.format", c.output().format(), Set.of("parquet", "delta"));
        oneOf("output.sync", c.output().sync(), Set.of("upsert", "mirror"));
        if (c.output().delta() && !c.output().commit().equals("auto")) {
            throw new ConfigException("output.commit=" + c.output().commit() + " with output.format=delta: a Delta table commits "
                    + "through its own log; leave output.commit at auto");
        }
        requireText("spark.app_name", c.spark().appName());
        range("clean.min_chars", c.clean().minChars(), 0, 1_000_000);
        requireText("embedder.provider", c.embedder().provider());
        // The provider's own token limit and keys are checked by cli.StageChecks, which knows the providers.
        range("chunk.max_tokens", c.chunk().maxTokens(), 8, 10_000_000);
        range("chunk.overlap_tokens", c.chunk().overlapTokens(), 0, c.chunk().maxTokens() / 2,
                " (at most half of chunk.max_tokens)");
        ratio("quality.max_reject_ratio", c.quality().maxRejectRatio());
        ratio("quality.max_error_ratio", c.quality().maxErrorRatio());
        ratio("quality.max_unknown_token_ratio", c.quality().maxUnknownTokenRatio());
        range("embedder.batch_size", c.embedder().batchSize(), 1, 4096);
        oneOf("embedder.encoding_format", c.embedder().encodingFormat(), Set.of("float", "base64"));
        if (c.embedder().dimensions() != null) {
            range("embedder.dimensions", c.embedder().dimensions(), 1, 65536);
        }
        EmbedpipeConfig.Limits l = c.limits();
        range("limits.requests_per_minute", l.requestsPerMinute(), 0, Long.MAX_VALUE);
        range("limits.tokens_per_minute", l.tokensPerMinute(), 0, Long.MAX_VALUE);
        range("limits.window_seconds", l.windowSeconds(), 1, 3600);
        range("limits.max_in_flight", l.maxInFlight(), 1, 256);
        range("limits.max_inputs_per_request", l.maxInputsPerRequest(), 1, 100_000);
        range("limits.max_tokens_per_request", l.maxTokensPerRequest(), 1, Long.MAX_VALUE);
        range("limits.max_input_tokens", l.maxInputTokens(), 8, 10_000_000);
        range("limits.max_attempts", l.maxAttempts(), 1, 100);
        range("limits.request_timeout_s", l.requestTimeoutS(), 1, 3600);
        range("limits.max_retry_wait_s", l.maxRetryWaitS(), 1, 3600);
        range("limits.max_response_bytes", l.maxResponseBytes(), 1024, Long.MAX_VALUE);
        range("budget.max_total_tokens", c.budget().maxTotalTokens(), 0, Long.MAX_VALUE);
        if (!(c.budget().maxCost() >= 0)) {
            throw new ConfigException("budget.max_cost: must be at least 0 (0: no cap), got " + c.budget().maxCost());
        }
        if (c.budget().maxCost() > 0 && c.cost().usdPerMillionTokens() == 0) {
            throw new ConfigException("budget.max_cost: needs cost.usd_per_million_tokens to turn a cost into tokens");
        }
        if (!(c.cost().usdPerMillionTokens() >= 0)) {
            throw new ConfigException("cost.usd_per_million_tokens: must be at least 0, got " + c.cost().usdPerMillionTokens());
        }
        range("embedder.threads_per_task", c.embedder().threadsPerTask(), 1, 256);
        range("progress.interval_s", c.progress().intervalS(), 0, 3600);
        validateBatch(c);
        c.spark().conf().forEach((key, value) -> {
            if (!key.startsWith("spark.")) {
                throw new ConfigException("spark.conf: '" + key + "' is not a Spark setting (they start with 'spark.')");
            }
        });
    }

    /** The Batch API keys (embedder.mode, limits.batch_*, cost.batch_discount). */
    private static void validateBatch(EmbedpipeConfig c) {
        oneOf("embedder.mode", c.embedder().mode(), Set.of("sync", "batch"));
        if (c.embedder().batchMode() && !c.embedder().provider().equals("openai")) {
            throw new ConfigException("embedder.mode: batch needs the openai provider (a server with /files and /batches), got '"
                    + c.embedder().provider() + "'");
        }
        EmbedpipeConfig.Limits l = c.limits();
        range("limits.batch_poll_s", l.batchPollS(), 1, 86_400);
        if (!(l.batchMaxWaitH() > 0 && l.batchMaxWaitH() <= 24 * 30)) {
            throw new ConfigException("limits.batch_max_wait_h: must be over 0 and at most 720 hours, got " + l.batchMaxWaitH());
        }
        range("limits.batch_queue_tokens", l.batchQueueTokens(), 0, Long.MAX_VALUE);
        range("limits.batch_max_requests_per_file", l.batchMaxRequestsPerFile(), 1, 50_000);
        range("limits.batch_max_file_bytes", l.batchMaxFileBytes(), 1024, 200_000_000);
        range("limits.batch_max_inputs", l.batchMaxInputs(), 1, 50_000);
        if (!(c.cost().batchDiscount() > 0 && c.cost().batchDiscount() <= 1)) {
            throw new ConfigException("cost.batch_discount: a share of the live price in (0, 1], got " + c.cost().batchDiscount());
        }
    }

    /** Checks what only the embed command needs: where to read and where to write. */
    public static void requireInputAndOutput(EmbedpipeConfig c) {
        if (c.input().paths().isEmpty()) {
            throw new ConfigException("--input (input.paths): at least one input file, folder or glob is required");
        }
        if (c.output().path().isBlank()) {
            throw new ConfigException("--output (output.path): an output folder is required");
        }
    }

    private static void requireText(String key, String value) {
        if (value == null || value.isBlank()) {
            throw new ConfigException(key + ": must not be empty");
        }
    }

    private static void oneOf(String key, String value, Set<String> allowed) {
        if (!allowed.contains(value)) {
            throw new ConfigException(key + ": '" + value + "' is not allowed, use one of " + new java.util.TreeSet<>(allowed));
        }
    }

    private static void range(String key, long value, long min, long max) {
        range(key, value, min, max, "");
    }

    private static void range(String key, long value, long min, long max, String why) {
        if (value < min || value > max) {
            String bounds = max == Long.MAX_VALUE ? "at least " + min : "between " + min + " and " + max;
            throw new ConfigException(key + ": must be " + bounds + why + ", got " + value);
        }
    }

    private static void ratio(String key, Double value) {
        if (value != null && !(value >= 0 && value <= 1)) {
            throw new ConfigException(key + ": must be a ratio between 0 and 1 (or null for off), got " + value);
        }
    }

    private static ConfigException unknownKey(String key) {
        return new ConfigException(key + ": unknown configuration key; known keys: " + String.join(", ", knownKeys()));
    }

    private static String childKeys(ObjectNode node) {
        List<String> names = new ArrayList<>();
        node.fieldNames().forEachRemaining(names::add);
        return names.toString();
    }

    private static void collectKeys(JsonNode node, String prefix, List<String> out) {
        node.fields().forEachRemaining(e -> {
            if (e.getValue().isObject()) {
                collectKeys(e.getValue(), prefix + e.getKey() + ".", out);
            } else {
                out.add(prefix + e.getKey());
            }
        });
    }

    private static String describe(Class<?> type) {
        if (type == int.class || type == Integer.class || type == long.class || type == Long.class) {
            return "an integer";
        }
        if (List.class.isAssignableFrom(type)) {
            return "a list";
        }
        if (type == String.class) {
            return "a string";
        }
        if (type == Double.class || type == double.class) {
            return "a number";
        }
        return type.getSimpleName();
    }

    private static String valueAt(JsonNode tree, String dottedKey) {
        JsonNode node = tree;
        for (String part : dottedKey.split("\\.")) {
            node = node == null ? null : node.get(part.replaceAll("\\[\\d+]$", ""));
        }
        return node == null ? "(nothing)" : "'" + (node.isTextual() ? node.asText() : node.toString()) + "'";
    }

    private static String firstLine(String message) {
        if (message == null) {
            return "";
        }
        int nl = message.indexOf('\n');
        return nl < 0 ? message : message.substring(0, nl);
    }
}
