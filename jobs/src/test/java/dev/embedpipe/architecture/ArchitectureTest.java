package dev.embedpipe.architecture;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchRule;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAPackage;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAnyPackage;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

/**
 * The import rules of docs/architecture.md, checked on the compiled classes. A failure names the offending class
 * and the dependency; fix the dependency, not the rule.
 */
class ArchitectureTest {
    private static final String ROOT = "dev.embedpipe";

    private static JavaClasses main;
    private static JavaClasses mainAndTests;

    @BeforeAll
    static void importClasses() {
        main = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS).importPackages(ROOT);
        mainAndTests = new ClassFileImporter().importPackages(ROOT);
    }

    @Test
    void noPackageCycles() {
        ArchRule rule = slices().matching(ROOT + ".(*)..").should().beFreeOfCycles();
        rule.check(main);
    }

    /** Configuration is plain validated data: it may read util, never a stage (checks that need one live in cli). */
    @Test
    void configImportsNoStage() {
        ArchRule rule = noClasses().that().resideInAPackage(ROOT + ".config..")
                .should().dependOnClassesThat(insideProjectExcept("config", "util"))
                .because("configuration is plain validated data; provider checks that need the registry run in cli");
        rule.check(main);
    }

    /** Writers take rows and plain schema data, not embedders. */
    @Test
    void writersDoNotDependOnEmbedders() {
        ArchRule rule = noClasses().that().resideInAPackage(ROOT + ".write..")
                .should().dependOnClassesThat().resideInAPackage(ROOT + ".embed..")
                .because("writers take rows and a plain schema description, not an Embedder or its ModelInfo");
        rule.check(main);
    }

    /** Readers of a table (use) never depend on the job that wrote it: they read the table and its manifest. */
    @Test
    void tableReadersDoNotDependOnTheJob() {
        ArchRule rule = noClasses().that().resideInAPackage(ROOT + ".use..")
                .should().dependOnClassesThat(inside("job", "run", "write", "cache", "progress", "report", "cli"))
                .because("a table is read through its manifest and layout, not through the code that wrote it");
        rule.check(main);
    }

    /** Providers are alternatives: one never depends on another. */
    @Test
    void providersDoNotDependOnEachOther() {
        noClasses().that().resideInAPackage(ROOT + ".embed.onnx..")
                .should().dependOnClassesThat().resideInAPackage(ROOT + ".embed.remote..")
                .check(main);
        noClasses().that().resideInAPackage(ROOT + ".embed.remote..")
                .should().dependOnClassesThat().resideInAPackage(ROOT + ".embed.onnx..")
                .because("providers are alternatives; shared code belongs in embed")
                .check(main);
        // javac inlines constants, so a provider reading another's static final String leaves no trace in bytecode.
        assertThat(sourceLines("embed/onnx", importOf("dev.embedpipe.embed.remote."))).isEmpty();
        assertThat(sourceLines("embed/remote", importOf("dev.embedpipe.embed.onnx."))).isEmpty();
    }

    private static String importOf(String packagePrefix) {
        return "import\\s+(static\\s+)?" + Pattern.quote(packagePrefix) + ".*";
    }

    /** "file: line" for each line matching {@code regex} in the main sources under {@code folder}. */
    private static List<String> sourceLines(String folder, String regex) {
        Path root = Path.of("src/main/java/dev/embedpipe").resolve(folder);
        assumeTrue(Files.isDirectory(root), "main sources not found from " + Path.of("").toAbsolutePath());
        try (Stream<Path> files = Files.walk(root)) {
            return files.filter(f -> f.toString().endsWith(".java")).flatMap(f -> {
                try {
                    return Files.readAllLines(f).stream()
                            .filter(line -> line.matches(regex))
                            .map(line -> root.relativize(f) + ": " + line);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Main code never reaches a test hook: hooks are test classes, plugged in through a main-code extension point. */
    @Test
    void mainCodeDoesNotDependOnTestCode() {
        ArchRule rule = noClasses().that(compiledFrom("classes"))
                .should().dependOnClassesThat(compiledFrom("test-classes"))
                .because("test hooks live in test code; main code offers at most a documented extension point");
        rule.check(mainAndTests);
        // A hook switched on by a test-only setting is test code even when it compiles into main.
        assertThat(sourceLines("", ".*\"spark\\.embedpipe\\.test\\..*")).isEmpty();
    }

    private static DescribedPredicate<JavaClass> inside(String... packages) {
        String[] full = new String[packages.length];
        for (int i = 0; i < packages.length; i++) {
            full[i] = ROOT + "." + packages[i] + "..";
        }
        return resideInAnyPackage(full);
    }

    private static DescribedPredicate<JavaClass> insideProjectExcept(String... allowed) {
        return resideInAPackage(ROOT + "..").and(DescribedPredicate.not(inside(allowed)))
                .as("a project class outside " + String.join(", ", allowed));
    }

    /** Classes whose class file sits in target/{folder}/ (Maven's main or test output). */
    private static DescribedPredicate<JavaClass> compiledFrom(String folder) {
        return DescribedPredicate.describe("compiled into target/" + folder,
                c -> c.getSource().map(s -> s.getUri().toString().contains("/target/" + folder + "/")).orElse(false));
    }
}
