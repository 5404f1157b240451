package dev.embedpipe.embed.remote;

import dev.embedpipe.chunk.Chunk;
import dev.embedpipe.config.ConfigLoader;
import dev.embedpipe.config.EmbedpipeConfig;
import dev.embedpipe.embed.EmbedStage;
import dev.embedpipe.embed.ChunkResult;
import dev.embedpipe.embed.Embedder;
import dev.embedpipe.embed.EmbedderRegistry;
import dev.embedpipe.testing.ScriptedEmbeddingServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Our OpenAI requests against the official OpenAPI description, served by Stoplight Prism on 127.0.0.1: the mock
 * answers 422 to any request that breaks the spec; the proxy, in front of the scripted server, also checks its
 * answers. The description is vendored (src/test/resources/openai/, MIT); Prism is installed by the build with the
 * machine's npm (src/test/npm/install-prism.sh) and passed as the system property {@code embedpipe.prism} (or the
 * environment variable PRISM). The test skips only when npm itself is absent; a missing Prism with npm present fails.
 */
class PrismContractTest {
    static final String SPEC_RESOURCE = "/openai/openapi.yaml";
    static Path spec;
    @TempDir
    static Path dir;
    static Process mock;
    static Process proxy;
    static int mockPort;
    static int proxyPort;
    static ScriptedEmbeddingServer upstream;

    @BeforeAll
    static void startPrism() throws Exception {
        String prism = prismBinary();
        spec = Path.of(PrismContractTest.class.getResource(SPEC_RESOURCE).toURI());
        upstream = ScriptedEmbeddingServer.start();
        mockPort = freePort();
        proxyPort = freePort();
        mock = new ProcessBuilder(prism, "mock", "-h", "127.0.0.1", "-p", String.valueOf(mockPort), spec.toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve("prism-mock.log").toFile()).start();
        proxy = new ProcessBuilder(prism, "proxy", "--errors", "-h", "127.0.0.1", "-p", String.valueOf(proxyPort), spec.toString(),
                upstream.baseUrl()).redirectErrorStream(true).redirectOutput(dir.resolve("prism-proxy.log").toFile()).start();
        waitForPort(mockPort, mock);
        waitForPort(proxyPort, proxy);
    }

    /** The Prism the build installed (or $PRISM); a skip only when this machine has no npm to install it with. */
    static String prismBinary() {
        String prism = System.getProperty("embedpipe.prism", System.getenv("PRISM"));
        if (prism != null && Files.isExecutable(Path.of(prism))) {
            return prism;
        }
        boolean npm = java.util.Arrays.stream(System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator))
                .anyMatch(d -> !d.isEmpty() && Files.isExecutable(Path.of(d, "npm")));
        Assumptions.assumeTrue(npm, "npm is not on the PATH, so the build could not install Prism (jobs/src/test/npm)");
        throw new AssertionError("no Prism at " + prism + " although npm is on the PATH: run the build's "
                + "process-test-resources phase (mvn -B verify does), or set -Dembedpipe.prism");
    }

    @AfterAll
    static void stopPrism() throws InterruptedException {
        for (Process p : new Process[] {mock, proxy}) {
            if (p != null) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        }
        if (upstream != null) {
            upstream.close();
        }
    }

    private static EmbedpipeConfig config(String baseUrl, Map<String, Object> extra) throws IOException {
        Path key = dir.resolve("key");
        Files.writeString(key, "sk-contract-test");
        Map<String, Object> values = new HashMap<>(Map.of("embedder.provider", "openai", "embedder.base_url", baseUrl,
                "embedder.api_key_file", key.toString(), "limits.request_timeout_s", 20, "limits.max_attempts", 2,
                "limits.max_retry_wait_s", 1));
        values.putAll(extra);
        return ConfigLoader.defaultsWith(values);
    }

    @Test
    void everyFormOfOurRequestsIsValidForTheSpec() throws Exception {
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        List<Map<String, Object>> variants = List.of(
                Map.of(),
                Map.of("embedder.encoding_format", "base64"),
                Map.of("embedder.dimensions", 256, "embedder.model", "text-embedding-3-large"),
                Map.of("embedder.headers", Map.of("OpenAI-Organization", "org-test")));
        for (Map<String, Object> variant : variants) {
            EmbedpipeConfig config = config("http://127.0.0.1:" + mockPort, variant);
            Embedder embedder = EmbedderRegistry.get("openai").embedder(config);
            try (Embedder.Session session = embedder.openSession(config, 1)) {
                HttpRequest request = ((RemoteEmbedder.RemoteSession) session).buildRequest(List.of("first text", "second text ✓"));
                HttpResponse<String> response = client.send(request, HttpResponse.BodyHandlers.ofString());
                assertThat(response.statusCode()).as("Prism's verdict on %s: %s", variant, response.body()).isEqualTo(200);
            }
        }
        // and the check can fail: a request without the required model is refused
        HttpRequest broken = HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + mockPort + "/embeddings"))
                .header("Content-Type", "application/json").header("Authorization", "Bearer sk-contract-test")
                .POST(HttpRequest.BodyPublishers.ofString("{\"input\": [\"x\"]}")).build();
        assertEquals(422, client.send(broken, HttpResponse.BodyHandlers.ofString()).statusCode());
    }

    @Test
    void throughTheValidatingProxyTheScriptedServersAnswersAreValidToo() throws Exception {
        EmbedpipeConfig config = config("http://127.0.0.1:" + proxyPort, Map.of("embedder.model", "text-embedding-3-small",
                "embedder.dimensions", 8, "limits.max_inputs_per_request", 4));
        Embedder embedder = EmbedderRegistry.get("openai").embedder(config);
        List<Chunk> chunks = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            chunks.add(new Chunk("c" + i, "d", i, "text " + i, 3, 0, 6, "h", "f", "{}", null));
        }
        List<ChunkResult> out = new ArrayList<>();
        try (Embedder.Session session = embedder.openSession(config, 1);
             EmbedStage stage = new EmbedStage(chunks.iterator(), session, embedder.shape(config, 1))) {
            stage.forEachRemaining(out::add);
        }
        assertThat(out).allSatisfy(e -> assertThat(e.error()).as("no error through the validating proxy").isNull());
        assertEquals(3, upstream.requestCount());
    }

    @Test
    void everyRequestOfBatchModeIsValidForTheSpec() throws Exception {
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        EmbedpipeConfig config = config("http://127.0.0.1:" + mockPort, Map.of("embedder.mode", "batch",
                "embedder.model", "text-embedding-3-small", "embedder.dimensions", 256));
        BatchApi api = new BatchApi(config);
        BatchRequest line = BatchRequest.of("r1-0-0", List.of("h1", "h2"), List.of("first text", "second text ✓"), 4,
                new OpenAiProvider().resolved(config).embedder());
        // the request lines carry the live path's /embeddings body: it must be valid there too
        com.fasterxml.jackson.databind.JsonNode parsed = new com.fasterxml.jackson.databind.ObjectMapper().readTree(line.line());
        assertEquals("/v1/embeddings", parsed.get("url").asText());
        assertEquals("POST", parsed.get("method").asText());
        HttpRequest inner = HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + mockPort + "/embeddings"))
                .header("Content-Type", "application/json").header("Authorization", "Bearer sk-contract-test")
                .POST(HttpRequest.BodyPublishers.ofString(parsed.get("body").toString())).build();
        Map<String, HttpRequest> requests = new java.util.LinkedHashMap<>();
        requests.put("request line body", inner);
        requests.put("POST /files", api.uploadRequest("run-0.jsonl", line.line()));
        requests.put("POST /batches", api.createRequest("file-abc123", Map.of("embedpipe_run", "r1", "embedpipe_file", "0123abcd")));
        requests.put("GET /batches/{id}", api.getRequest("batch_abc123"));
        requests.put("GET /batches", api.listRequest(null));
        requests.put("GET /batches?after", api.listRequest("batch_abc123"));
        requests.put("POST /batches/{id}/cancel", api.cancelRequest("batch_abc123"));
        requests.put("GET /files/{id}/content", api.contentRequest("file-abc123"));
        for (Map.Entry<String, HttpRequest> r : requests.entrySet()) {
            HttpResponse<String> response = client.send(r.getValue(), HttpResponse.BodyHandlers.ofString());
            assertThat(response.statusCode()).as("Prism's verdict on %s: %s", r.getKey(), response.body()).isEqualTo(200);
        }
        // and the check can fail: a batch without its completion window is refused
        HttpRequest broken = HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + mockPort + "/batches"))
                .header("Content-Type", "application/json").header("Authorization", "Bearer sk-contract-test")
                .POST(HttpRequest.BodyPublishers.ofString("{\"input_file_id\": \"file-1\", \"endpoint\": \"/v1/embeddings\"}")).build();
        assertEquals(422, client.send(broken, HttpResponse.BodyHandlers.ofString()).statusCode());
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    private static void waitForPort(int port, Process process) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IllegalStateException("prism exited: " + Files.readString(dir.resolve(port == mockPort ? "prism-mock.log" : "prism-proxy.log")));
            }
            try (Socket ignored = new Socket("127.0.0.1", port)) {
                return;
            } catch (IOException notYet) {
                Thread.sleep(250);
            }
        }
        throw new IllegalStateException("prism did not listen on " + port + " within 120 s");
    }
}
