package dev.embedpipe.tokenize;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.embedpipe.util.Hashing;
import dev.embedpipe.util.Locations;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One tokenizer per spec per JVM: created lazily on first use inside a task, shared by every task and thread of
 * the executor, closed when the JVM exits. Never serialized: closures carry the {@link TokenizerSpec}, not this.
 */
public final class Tokenizers {
    private static final Logger LOG = LoggerFactory.getLogger(Tokenizers.class);
    private static final Map<TokenizerSpec, TextTokenizer> BY_SPEC = new ConcurrentHashMap<>();
    private static final Map<TokenizerSpec, AtomicInteger> CREATED = new ConcurrentHashMap<>();

    static {
        DjlOffline.ensure();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> BY_SPEC.values().forEach(TextTokenizer::close),
                "embedpipe-tokenizers-close"));
    }

    private Tokenizers() {}

    public static TextTokenizer get(TokenizerSpec spec) {
        return BY_SPEC.computeIfAbsent(spec, Tokenizers::create);
    }

    /** How many tokenizers for this spec this JVM has created (one when sharing works). */
    public static int createdInThisJvm(TokenizerSpec spec) {
        AtomicInteger n = CREATED.get(spec);
        return n == null ? 0 : n.get();
    }

    private static TextTokenizer create(TokenizerSpec spec) {
        long t0 = System.nanoTime();
        byte[] json = readBytes(spec.location());
        // Truncation and padding from tokenizer.json are switched off: chunking needs every token, and a
        // chunk the model would truncate is a bug we want to see, not hide.
        Map<String, String> options = Map.of(
                "truncation", "false",
                "padding", "false",
                "addSpecialTokens", "true",
                "modelMaxLength", String.valueOf(Integer.MAX_VALUE));
        try (InputStream in = new ByteArrayInputStream(json)) {
            HuggingFaceTokenizer hf = HuggingFaceTokenizer.newInstance(in, options);
            String sha = HexFormat.of().formatHex(Hashing.sha256().digest(json));
            var tree = new ObjectMapper().readTree(json);
            TextTokenizer tokenizer = new TextTokenizer(spec, hf, sha, TextTokenizer.splitsAtWhitespace(tree),
                    TextTokenizer.unknownTokenId(tree));
            int n = CREATED.computeIfAbsent(spec, k -> new AtomicInteger()).incrementAndGet();
            LOG.info("embedpipe: created tokenizer {} in JVM {} (#{} in this JVM, {} ms)", spec.name(),
                    ProcessHandle.current().pid(), n, (System.nanoTime() - t0) / 1_000_000);
            return tokenizer;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot load tokenizer " + spec.name() + " from " + spec.location(), e);
        }
    }

    /** As {@link Locations#readBytes}; kept for callers that read a tokenizer's or model's location through here. */
    public static byte[] readBytes(String location) {
        return Locations.readBytes(location);
    }
}
