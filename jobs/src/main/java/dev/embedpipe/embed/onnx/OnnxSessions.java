package dev.embedpipe.embed.onnx;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.embedpipe.embed.ModelInfo;
import dev.embedpipe.util.Locations;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * One ONNX Runtime session per (model, threads) per JVM, created lazily inside the first task that needs it and
 * shared by all tasks of the executor ({@code OrtSession.run} is thread-safe). Closed at JVM exit.
 */
public final class OnnxSessions {
    private static final Logger LOG = LoggerFactory.getLogger(OnnxSessions.class);
    private static final Map<Key, LocalOnnxEmbedder> BY_KEY = new ConcurrentHashMap<>();
    private static final AtomicInteger CREATED = new AtomicInteger();
    private static final long SESSION_INIT_STACK_BYTES = 64L << 20;

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(OnnxSessions::closeAll, "embedpipe-onnx-close"));
    }

    /**
     * @param info    the model, its recipe included (the same weights pooled otherwise are another embedder)
     * @param threads intra-op threads of the session: the threads one task's model call uses
     */
    public record Key(ModelInfo info, int threads) {
        String modelLocation() {
            return info.modelLocation();
        }
    }

    private OnnxSessions() {}

    static LocalOnnxEmbedder get(Key key) {
        return BY_KEY.computeIfAbsent(key, k -> createOnLargeStack(k, options -> { }));
    }

    /**
     * ONNX Runtime's model loading and graph optimisation recurse deeply in native code: on a thread with the JVM's
     * default 1 MiB stack (the java launcher's main thread, some executor threads) it can overflow the stack and
     * kill the JVM with SIGSEGV. So the session is built on a thread of our own with a stack that is large enough.
     */
    static LocalOnnxEmbedder createOnLargeStack(Key key, Consumer<OrtSession.SessionOptions> tweak) {
        LocalOnnxEmbedder[] result = new LocalOnnxEmbedder[1];
        RuntimeException[] failure = new RuntimeException[1];
        Thread builder = new Thread(null, () -> {
            try {
                result[0] = create(key, tweak);
            } catch (RuntimeException e) {
                failure[0] = e;
            }
        }, "embedpipe-onnx-session-init", SESSION_INIT_STACK_BYTES);
        builder.start();
        try {
            builder.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while creating the ONNX session", e);
        }
        if (failure[0] != null) {
            throw failure[0];
        }
        return result[0];
    }

    /**
     * Frees every session of this JVM once its model calls in progress have returned (a failing run calls this
     * before it exits; so does JVM exit). A later task creates a new session.
     */
    public static void closeAll() {
        for (Key key : List.copyOf(BY_KEY.keySet())) {
            LocalOnnxEmbedder embedder = BY_KEY.remove(key);
            if (embedder != null) {
                embedder.close();
            }
        }
    }

    /** How many sessions this JVM has created (one per key when sharing works). */
    public static int createdInThisJvm() {
        return CREATED.get();
    }

    /**
     * Whether the graph quantises activations at run time (DynamicQuantizeLinear, as the int8 exports do): their
     * scale is taken over the whole batch, so such a model must see one text per call for a text's vector not to
     * depend on its batch companions and padding.
     */
    static boolean dynamicallyQuantized(byte[] model) {
        byte[] op = "DynamicQuantizeLinear".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        outer:
        for (int i = 0; i + op.length <= model.length; i++) {
            if (model[i] != op[0]) {
                continue;
            }
            for (int k = 1; k < op.length; k++) {
                if (model[i + k] != op[k]) {
                    continue outer;
                }
            }
            return true;
        }
        return false;
    }

    /** {@code tweak} changes the session options after ours: SessionOptionsBenchmark measures candidates with it. */
    private static LocalOnnxEmbedder create(Key key, Consumer<OrtSession.SessionOptions> tweak) {
        ModelInfo info = key.info();
        long t0 = System.nanoTime();
        byte[] model = Locations.readBytes(key.modelLocation());
        try {
            OrtEnvironment env = OrtEnvironment.getEnvironment();
            OrtSession.SessionOptions options = new OrtSession.SessionOptions();
            options.setIntraOpNumThreads(key.threads());
            options.setInterOpNumThreads(1);
            options.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
            boolean quantized = dynamicallyQuantized(model);
            // Fused int8 kernels (extended optimisation and up) change the vectors by ONNX Runtime release (cosine
            // 0.997 between 1.29 and 1.30); the unfused graph is the model as written and agrees across releases.
            options.setOptimizationLevel(quantized ? OrtSession.SessionOptions.OptLevel.BASIC_OPT
                    : OrtSession.SessionOptions.OptLevel.ALL_OPT);
            tweak.accept(options);
            OrtSession session = env.createSession(model, options);
            int n = CREATED.incrementAndGet();
            LOG.info("embedpipe: created ONNX session for {} with {} thread(s) in JVM {} (#{} in this JVM, {} ms)",
                    info.model(), key.threads(), ProcessHandle.current().pid(), n, (System.nanoTime() - t0) / 1_000_000);
            return new LocalOnnxEmbedder(env, session, info, quantized);
        } catch (OrtException e) {
            throw new IllegalStateException("cannot create an ONNX Runtime session for " + key.modelLocation(), e);
        }
    }
}
