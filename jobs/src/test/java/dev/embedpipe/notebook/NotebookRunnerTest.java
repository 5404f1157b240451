package dev.embedpipe.notebook;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The jshell notebook executor on small synthetic notebooks (src/test/resources/notebooks). */
class NotebookRunnerTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> VM_OPTIONS = List.of("-Xmx256m", "-Djava.awt.headless=true");
    private static String classPath;

    @TempDir
    Path tmp;

    @BeforeAll
    static void classPath() throws URISyntaxException {
        // Surefire's own class path is a manifest-only jar; the cells need only Display and the JDK.
        classPath = Path.of(Display.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
    }

    private static NotebookRunner runner(Duration timeout) {
        return new NotebookRunner(new NotebookRunner.Options(classPath, VM_OPTIONS, timeout));
    }

    private static Path resource(String name) throws URISyntaxException {
        return Path.of(NotebookRunnerTest.class.getResource("/notebooks/" + name).toURI());
    }

    private static String text(JsonNode lines) {
        StringBuilder text = new StringBuilder();
        lines.forEach(l -> text.append(l.asText()));
        return text.toString();
    }

    @Test
    void recordsStreamsPicturesAndValuesOfEveryCell() throws Exception {
        NotebookRunner.Outcome outcome = runner(Duration.ofMinutes(2)).execute(resource("good.ipynb"));

        assertThat(outcome.failure()).isNull();
        JsonNode cells = outcome.notebook().get("cells");
        assertThat(cells.get(0).has("outputs")).as("markdown cells get no outputs").isFalse();

        JsonNode first = cells.get(1);
        assertThat(first.get("execution_count").asInt()).isEqualTo(1);
        assertThat(first.get("outputs")).hasSize(2);
        assertThat(first.get("outputs").get(0).get("name").asText()).isEqualTo("stdout");
        assertThat(text(first.get("outputs").get(0).get("text"))).isEqualTo("answer 42\n");
        assertThat(first.get("outputs").get(1).get("name").asText()).isEqualTo("stderr");
        assertThat(text(first.get("outputs").get(1).get("text"))).isEqualTo("to stderr\n");

        JsonNode picture = cells.get(2).get("outputs");
        assertThat(picture).hasSize(3);
        assertThat(text(picture.get(0).get("text"))).isEqualTo("before\n");
        assertThat(picture.get(1).get("output_type").asText()).isEqualTo("display_data");
        byte[] png = Base64.getDecoder().decode(picture.get(1).get("data").get("image/png").asText());
        BufferedImage image = ImageIO.read(new ByteArrayInputStream(png));
        assertThat(image.getWidth()).isEqualTo(4);
        assertThat(image.getHeight()).isEqualTo(3);
        assertThat(image.getRGB(0, 0) & 0xffffff).isEqualTo(0xff0000);
        assertThat(text(picture.get(2).get("text"))).isEqualTo("after\n");

        JsonNode method = cells.get(3).get("outputs");
        assertThat(method).hasSize(1);
        assertThat(method.get(0).get("output_type").asText()).isEqualTo("execute_result");
        assertThat(text(method.get(0).get("data").get("text/plain"))).isEqualTo("\"abab\"");

        JsonNode state = cells.get(4);
        assertThat(state.get("execution_count").asInt()).isEqualTo(4);
        assertThat(text(state.get("outputs").get(0).get("data").get("text/plain")))
                .as("a variable of an earlier cell").isEqualTo("43");

        JsonNode semicolon = cells.get(5).get("outputs");
        assertThat(semicolon).as("a trailing semicolon hides the value").hasSize(1);
        assertThat(text(semicolon.get(0).get("text"))).isEqualTo("5\n");
    }

    @Test
    void aCellThatDoesNotCompileStopsTheRunWithItsNumber() throws Exception {
        NotebookRunner.Outcome outcome = runner(Duration.ofMinutes(2)).execute(resource("compile-error.ipynb"));

        assertThat(outcome.failure()).isNotNull();
        assertThat(outcome.failure().cell()).isEqualTo(3);
        assertThat(outcome.failure().error()).contains("does not compile", "int x = \"not a number\"", "incompatible types");
        JsonNode cells = outcome.notebook().get("cells");
        assertThat(text(cells.get(1).get("outputs").get(0).get("text"))).isEqualTo("first\n");
        assertThat(cells.get(2).get("outputs").get(0).get("output_type").asText()).isEqualTo("error");
        assertThat(cells.get(3).get("outputs")).as("no cell runs after the failure").isEmpty();
    }

    @Test
    void anExceptionStopsTheRunAfterWhatTheCellPrinted() throws Exception {
        NotebookRunner.Outcome outcome = runner(Duration.ofMinutes(2)).execute(resource("throws.ipynb"));

        assertThat(outcome.failure().cell()).isEqualTo(1);
        assertThat(outcome.failure().error()).startsWith("java.lang.NullPointerException");
        JsonNode outputs = outcome.notebook().get("cells").get(0).get("outputs");
        assertThat(text(outputs.get(0).get("text"))).isEqualTo("about to fail\n");
        assertThat(outputs.get(1).get("ename").asText()).isEqualTo("java.lang.NullPointerException");
        assertThat(outcome.notebook().get("cells").get(1).get("outputs")).isEmpty();
    }

    @Test
    void anUnresolvedSymbolIsAnError() throws Exception {
        NotebookRunner.Outcome outcome = runner(Duration.ofMinutes(2)).execute(resource("unresolved.ipynb"));

        assertThat(outcome.failure().cell()).isEqualTo(1);
        assertThat(outcome.failure().error()).contains("unresolved", "missing");
    }

    @Test
    void aCellPastTheTimeoutIsStopped() throws Exception {
        long started = System.nanoTime();
        NotebookRunner.Outcome outcome = runner(Duration.ofSeconds(2)).execute(resource("sleeps.ipynb"));

        assertThat(outcome.failure().error()).contains("stopped after 2 s");
        assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(60));
    }

    @Test
    void checkModeExitsNonZeroOnAFailedCellAndWritesNothing() throws Exception {
        Path good = Files.copy(resource("good.ipynb"), tmp.resolve("good.ipynb"));
        Path broken = Files.copy(resource("compile-error.ipynb"), tmp.resolve("broken.ipynb"));
        byte[] before = Files.readAllBytes(good);

        assertThat(cli("--check", good.toString())).isZero();
        assertThat(Files.readAllBytes(good)).as("--check writes nothing").isEqualTo(before);
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        assertThat(cli(err, "--check", good.toString(), broken.toString())).isEqualTo(1);
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("broken.ipynb failed at cell 3");
        assertThat(cli("--timeout-seconds", "x", good.toString())).isEqualTo(2);
    }

    @Test
    void withoutCheckTheExecutedNotebookIsWrittenBackAndRunsAgain() throws Exception {
        Path good = Files.copy(resource("good.ipynb"), tmp.resolve("good.ipynb"), StandardCopyOption.REPLACE_EXISTING);

        assertThat(cli(good.toString())).isZero();
        JsonNode written = JSON.readTree(good.toFile());
        assertThat(written.get("nbformat").asInt()).isEqualTo(4);
        assertThat(written.get("cells").get(2).get("outputs").get(1).get("data").has("image/png")).isTrue();
        assertThat(text(written.get("cells").get(3).get("source"))).startsWith("String twice(String s) {\n");

        NotebookRunner.Outcome again = runner(Duration.ofMinutes(2)).execute(good);
        assertThat(again.failure()).isNull();
        assertThat(again.notebook()).isEqualTo(written);
    }

    private static int cli(String... args) throws Exception {
        return cli(new ByteArrayOutputStream(), args);
    }

    private static int cli(ByteArrayOutputStream err, String... args) throws Exception {
        List<String> all = new ArrayList<>(List.of("--class-path", classPath, "--vm-option", "-Xmx256m",
                "--vm-option", "-Djava.awt.headless=true"));
        all.addAll(List.of(args));
        return NotebookRunner.run(all.toArray(String[]::new), new PrintStream(new ByteArrayOutputStream()),
                new PrintStream(err, true, StandardCharsets.UTF_8));
    }
}
