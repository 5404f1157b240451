package dev.embedpipe.embed.remote;

import java.io.IOException;
import java.io.InputStream;
import java.net.ProxySelector;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Every HTTP wait of the project goes through {@link #exchange}: one deadline covers connecting, the headers and
 * the whole body, and the body is read as a stream capped at a byte limit, never buffered whole.
 *
 * <p>Why not {@code HttpRequest.timeout} alone: Java 17's client stops counting once the headers arrive, so a
 * server that sends headers and then stalls the body blocks a reader forever. Here a timer closes the body stream
 * at the deadline, which cancels the exchange (the connection is dropped) and makes a blocked {@code read} throw;
 * the caller sees {@link DeadlineExceededException}.
 *
 * <p>For any endpoint (embeddings, and later the Batch API's {@code /files} and {@code /batches}): pass the
 * request, the deadline, the byte cap and a {@link BodyReader} that turns the status, headers and body stream into
 * a result (parse JSON from the stream, copy a file to disk, read an error snippet). The reader runs on the
 * calling thread; what it leaves unread is drained up to a small amount so the connection can be reused, or
 * else dropped.
 */
public final class HttpCalls {
    /** Bytes read past what a reader consumed, to let a kept-alive connection go back to the pool. */
    private static final int DRAIN_BYTES = 64 * 1024;

    private static final ScheduledThreadPoolExecutor TIMER = timer();

    private HttpCalls() {}

    /**
     * The client every remote call uses: HTTP/1.1, the JVM's proxy settings, connecting within the request timeout
     * (at most 30 s). One per configuration per JVM is enough; it is thread-safe.
     */
    public static HttpClient newClient(Duration requestTimeout) {
        return HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(requestTimeout.compareTo(Duration.ofSeconds(30)) < 0 ? requestTimeout : Duration.ofSeconds(30))
                .proxy(ProxySelector.getDefault())
                .build();
    }

    /** Turns one answer into a result while the deadline runs. */
    @FunctionalInterface
    public interface BodyReader<T> {
        /**
         * @param response the status and headers ({@code response.body()} is the raw stream: read {@code body})
         * @param body     the body, failing with {@link ResponseTooLargeException} past the byte cap
         */
        T read(HttpResponse<InputStream> response, InputStream body) throws IOException;
    }

    /** The answer, headers and body, did not arrive whole within the deadline. */
    public static final class DeadlineExceededException extends HttpTimeoutException {
        private static final long serialVersionUID = 1L;

        DeadlineExceededException(String message) {
            super(message);
        }
    }

    /** The body went past the byte cap; reading stopped there and the connection was dropped. */
    public static final class ResponseTooLargeException extends IOException {
        private static final long serialVersionUID = 1L;
        private final long limit;

        ResponseTooLargeException(long limit) {
            super("answer larger than " + limit + " bytes");
            this.limit = limit;
        }

        public long limit() {
            return limit;
        }
    }

    /**
     * Sends {@code request} and hands its answer to {@code reader}, all within {@code timeout} from now.
     *
     * @throws DeadlineExceededException  (an {@link HttpTimeoutException}) when connect, headers or body take longer;
     *                                    the client's own connect and request timeouts also surface as
     *                                    {@link HttpTimeoutException}
     * @throws ResponseTooLargeException when the body exceeds {@code maxBodyBytes} (thrown out of the reader)
     * @throws IOException               any other transport failure, or one of the reader's
     */
    public static <T> T exchange(HttpClient client, HttpRequest request, Duration timeout, long maxBodyBytes,
                                 BodyReader<T> reader) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        HttpResponse<InputStream> response = headers(client, request, timeout);
        InputStream raw = response.body();
        AtomicBoolean expired = new AtomicBoolean();
        ScheduledFuture<?> guard = TIMER.schedule(() -> {
            expired.set(true);
            closeQuietly(raw); // unblocks a read stalled in the client's queue and cancels the exchange
        }, Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        try {
            T result;
            try {
                result = reader.read(response, new LimitedInputStream(raw, maxBodyBytes));
            } catch (IOException e) {
                if (expired.get()) {
                    DeadlineExceededException late = deadline(timeout);
                    late.initCause(e);
                    throw late;
                }
                throw e;
            }
            try {
                drain(raw);
            } catch (IOException ignored) {
                // the result is whole; only the connection cannot be reused
            }
            return result;
        } finally {
            guard.cancel(false);
            closeQuietly(raw); // after a full read a no-op; else the rest is not read and the connection dropped
        }
    }

    /** The status and headers, within the whole timeout; a late exchange is cancelled and its body closed. */
    private static HttpResponse<InputStream> headers(HttpClient client, HttpRequest request, Duration timeout)
            throws IOException, InterruptedException {
        CompletableFuture<HttpResponse<InputStream>> pending = client.sendAsync(request, HttpResponse.BodyHandlers.ofInputStream());
        try {
            return pending.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            abandon(pending);
            throw deadline(timeout);
        } catch (InterruptedException e) {
            abandon(pending);
            throw e;
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof IOException io) {
                throw io;
            }
            throw new IOException(cause);
        }
    }

    /** Cancels the exchange (Java 16+ aborts it), or closes the body of one that completed just in time. */
    private static void abandon(CompletableFuture<HttpResponse<InputStream>> pending) {
        if (!pending.cancel(true) && pending.isDone() && !pending.isCompletedExceptionally()) {
            closeQuietly(pending.join().body());
        }
    }

    private static DeadlineExceededException deadline(Duration timeout) {
        return new DeadlineExceededException("no complete answer within " + timeout.toMillis() / 1000.0 + " s");
    }

    /** Reads what is left of a small remainder (usually nothing but the end of the stream). */
    private static void drain(InputStream raw) throws IOException {
        byte[] sink = new byte[8192];
        int left = DRAIN_BYTES;
        for (int n = 0; n >= 0 && left > 0; left -= n) {
            n = raw.read(sink, 0, Math.min(sink.length, left));
        }
    }

    private static void closeQuietly(InputStream in) {
        try {
            in.close();
        } catch (IOException | RuntimeException ignored) {
            // closing is best effort: the exchange is being abandoned
        }
    }

    private static ScheduledThreadPoolExecutor timer() {
        ScheduledThreadPoolExecutor timer = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, "embedpipe-http-deadlines");
            t.setDaemon(true);
            return t;
        });
        timer.setRemoveOnCancelPolicy(true); // a finished call leaves nothing queued
        return timer;
    }

    /** Counts what the reader takes and refuses to go past the cap. */
    private static final class LimitedInputStream extends InputStream {
        private final InputStream in;
        private final long limit;
        private long read;

        LimitedInputStream(InputStream in, long limit) {
            this.in = in;
            this.limit = limit;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            int n = read(one, 0, 1);
            return n < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (read >= limit) {
                // one byte beyond the cap tells "exactly at the cap" from "over it"
                if (in.read() < 0) {
                    return -1;
                }
                throw new ResponseTooLargeException(limit);
            }
            int n = in.read(b, off, (int) Math.min(len, limit - read));
            if (n > 0) {
                read += n;
            }
            return n;
        }

        @Override
        public int available() throws IOException {
            return (int) Math.min(in.available(), Math.max(0, limit - read));
        }

        /** The stream belongs to {@link #exchange}, which drains or drops it: a reader closing it changes nothing. */
        @Override
        public void close() {}
    }
}
