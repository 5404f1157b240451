package dev.embedpipe.embed.remote;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The deadline function against a raw socket on 127.0.0.1 that misbehaves byte by byte: headers then silence,
 * silence before headers, a body that never ends. The server records how each connection ended, so the tests
 * see that the exchange was really aborted (the socket closed by the client), not just abandoned.
 */
class HttpCallsTest {
    private static final String HEADERS = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n";

    private ServerSocket socket;
    private Thread acceptor;
    /** What the server does with one connection after reading the request. */
    private volatile Script script;
    /** How each connection ended on the server side: "client closed" or an exception. */
    private final BlockingQueue<String> endings = new LinkedBlockingQueue<>();

    interface Script {
        void serve(OutputStream out) throws IOException, InterruptedException;
    }

    @BeforeEach
    void start() throws IOException {
        socket = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"));
        acceptor = new Thread(() -> {
            while (!socket.isClosed()) {
                try {
                    Socket s = socket.accept();
                    Thread t = new Thread(() -> serve(s));
                    t.setDaemon(true);
                    t.start();
                } catch (IOException closed) {
                    return;
                }
            }
        });
        acceptor.setDaemon(true);
        acceptor.start();
    }

    private void serve(Socket s) {
        try (s) {
            InputStream in = s.getInputStream();
            readRequestHead(in);
            script.serve(s.getOutputStream());
            // After the script: wait for the client to close its end (read returns -1 or the socket resets).
            s.setSoTimeout(20_000);
            endings.add(in.read() < 0 ? "client closed" : "client sent more");
        } catch (IOException | InterruptedException e) {
            endings.add(e.getClass().getSimpleName());
        }
    }

    private static void readRequestHead(InputStream in) throws IOException {
        int matched = 0;
        byte[] end = "\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
        while (matched < end.length) {
            int b = in.read();
            if (b < 0) {
                throw new IOException("request ended early");
            }
            matched = b == end[matched] ? matched + 1 : (b == end[0] ? 1 : 0);
        }
    }

    @AfterEach
    void stop() throws IOException {
        socket.close();
    }

    private HttpRequest get() {
        return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + socket.getLocalPort() + "/x")).GET().build();
    }

    private static HttpClient client() {
        return HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    }

    @Test
    void aBodyThatStallsAfterTheHeadersEndsAtTheDeadlineAndTheConnectionIsClosed() throws Exception {
        script = out -> {
            out.write((String.format(HEADERS, 1000) + "{\"data\": [").getBytes(StandardCharsets.US_ASCII));
            out.flush(); // then nothing: 990 promised bytes never come
        };
        long t0 = System.nanoTime();
        assertThatThrownBy(() -> HttpCalls.exchange(client(), get(), Duration.ofMillis(1500), 1 << 20, (r, body) -> body.readAllBytes()))
                .isInstanceOf(HttpCalls.DeadlineExceededException.class);
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertThat(ms).isBetween(1400L, 10_000L);
        assertEquals("client closed", endings.poll(10, TimeUnit.SECONDS), "the client dropped the connection");
    }

    @Test
    void noHeadersAtAllEndsAtTheDeadline() throws Exception {
        script = out -> Thread.sleep(30_000);
        long t0 = System.nanoTime();
        assertThatThrownBy(() -> HttpCalls.exchange(client(), get(), Duration.ofMillis(1000), 1 << 20, (r, body) -> body.readAllBytes()))
                .isInstanceOf(java.net.http.HttpTimeoutException.class);
        assertThat((System.nanoTime() - t0) / 1_000_000).isBetween(900L, 10_000L);
    }

    @Test
    void aBodyOverTheCapIsCutOffWithoutReadingTheRest() throws Exception {
        long promised = 1L << 30; // 1 GiB promised, written until the client goes away
        script = out -> {
            out.write(String.format(HEADERS, promised).getBytes(StandardCharsets.US_ASCII));
            byte[] block = new byte[64 * 1024];
            Arrays.fill(block, (byte) ' ');
            for (long sent = 0; sent < promised; sent += block.length) {
                out.write(block);
            }
        };
        long[] seen = new long[1];
        assertThatThrownBy(() -> HttpCalls.exchange(client(), get(), Duration.ofSeconds(30), 1 << 20, (r, body) -> {
            byte[] buf = new byte[8192];
            for (int n; (n = body.read(buf)) >= 0; ) {
                seen[0] += n;
            }
            return seen[0];
        })).isInstanceOf(HttpCalls.ResponseTooLargeException.class);
        assertEquals(1 << 20, seen[0], "exactly the cap was handed to the reader");
        // the server's writes fail once the client has dropped the connection, long before the gigabyte
        assertThat(endings.poll(10, TimeUnit.SECONDS)).isEqualTo("SocketException");
    }

    @Test
    void aBodyExactlyAtTheCapIsAccepted() throws Exception {
        script = out -> {
            out.write((String.format(HEADERS, 5) + "hello").getBytes(StandardCharsets.US_ASCII));
            out.flush();
        };
        String body = HttpCalls.exchange(client(), get(), Duration.ofSeconds(5), 5,
                (r, in) -> r.statusCode() + " " + new String(in.readAllBytes(), StandardCharsets.US_ASCII));
        assertEquals("200 hello", body);
    }

    @Test
    void aReaderThatStopsEarlyStillGetsItsResultAndLeavesNoBlockedThread() throws Exception {
        script = out -> {
            out.write((String.format(HEADERS, 100) + "0123456789").getBytes(StandardCharsets.US_ASCII));
            out.flush(); // 90 bytes never come: the drain waits for them only until the deadline
        };
        long t0 = System.nanoTime();
        String first = HttpCalls.exchange(client(), get(), Duration.ofMillis(1500), 1000,
                (r, in) -> new String(in.readNBytes(4), StandardCharsets.US_ASCII));
        assertEquals("0123", first);
        assertThat((System.nanoTime() - t0) / 1_000_000).isLessThan(10_000L);
        assertEquals("client closed", endings.poll(10, TimeUnit.SECONDS));
    }
}
