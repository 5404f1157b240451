package dev.embedpipe.embed.onnx;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.embedpipe.embed.ModelInfo;
import dev.embedpipe.tokenize.Tokenizers;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

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

    /** @param threads intra-op threads of the session: the threads one task's model call uses */
    public record Key(String modelLocation, int threads) {}

    private OnnxSessions() {}

    static LocalOnnxEmbedder get(Key key, ModelInfo info) {
        return BY_KEY.computeIfAbsent(key, k -> createOnLargeStack(k, info));
    }

    /**
     * ONNX Runtime's model loading and graph optimisation recurse deeply in native code: on a thread with the JVM's
     * default 1 MiB stack (the java launcher's main thread, some executor threads) it can overflow the stack and
     * kill the JVM with SIGSEGV. So the session is built on a thread of our own with a stack that is large enough.
     */
    private static LocalOnnxEmbedder createOnLargeStack(Key key, ModelInfo info) {
        LocalOnnxEmbedder[] result = new LocalOnnxEmbedder[1];
        RuntimeException[] failure = new RuntimeException[1];
        Thread builder = new Thread(null, () -> {
            try {
                result[0] = create(key, info);
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

    private static LocalOnnxEmbedder create(Key key, ModelInfo info) {
        long t0 = System.nanoTime();
        byte[] model = Tokenizers.readBytes(key.modelLocation());
        try {
            OrtEnvironment env = OrtEnvironment.getEnvironment();
            OrtSession.SessionOptions options = new OrtSession.SessionOptions();
            options.setIntraOpNumThreads(key.threads());
            options.setInterOpNumThreads(1);
            options.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
            options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            OrtSession session = env.createSession(model, options);
            int n = CREATED.incrementAndGet();
            LOG.info("embedpipe: created ONNX session for {} with {} thread(s) in JVM {} (#{} in this JVM, {} ms)",
                    info.model(), key.threads(), ProcessHandle.current().pid(), n, (System.nanoTime() - t0) / 1_000_000);
            return new LocalOnnxEmbedder(env, session, info);
        } catch (OrtException e) {
            throw new IllegalStateException("cannot create an ONNX Runtime session for " + key.modelLocation(), e);
        }
    }
}
