package dev.embedpipe.util;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.Appender;
import org.apache.logging.log4j.core.LogEvent;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.config.Configuration;
import org.apache.logging.log4j.core.config.plugins.Plugin;
import org.apache.logging.log4j.core.config.plugins.util.PluginManager;
import org.apache.logging.log4j.core.layout.PatternLayout;
import org.apache.logging.log4j.core.pattern.ConverterKeys;
import org.apache.logging.log4j.core.pattern.LogEventPatternConverter;
import org.apache.logging.log4j.core.pattern.PatternConverter;
import org.apache.logging.log4j.core.pattern.PatternFormatter;

import java.util.List;

/**
 * Log4j 2 pattern converter {@code %redact{PATTERN}}: formats PATTERN (message, exception and all) and passes the
 * text through {@link Redaction#redact}, so no log line, whatever logged it (Spark, Hadoop, us), carries a key.
 * conf/log4j2.properties wraps every appender's layout in it: {@code %redact{%m%n%ex}}. Discovered through the
 * plugin index that log4j-core's annotation processor writes at compile time.
 */
@Plugin(name = "RedactingConverter", category = PatternConverter.CATEGORY)
@ConverterKeys({"redact"})
public final class RedactingConverter extends LogEventPatternConverter {
    /** Whether log4j built one with this class, i.e. whether it could see it when it read its configuration. */
    private static volatile boolean created;

    private final List<PatternFormatter> formatters;

    private RedactingConverter(List<PatternFormatter> formatters) {
        super("redact", "redact");
        this.formatters = formatters;
    }

    /** Called by log4j with the text between the braces; without any, the message alone. */
    public static RedactingConverter newInstance(Configuration config, String[] options) {
        String pattern = options != null && options.length > 0 && options[0] != null ? options[0] : "%m";
        created = true;
        return new RedactingConverter(PatternLayout.createPatternParser(config).parse(pattern, false, true, true));
    }

    /**
     * Makes {@code %redact} work when log4j read its configuration before this class was on the classpath (under
     * spark-submit the application jar joins a class loader of its own after Spark's logging started; the pattern
     * then prints unredacted text): it reads the configuration again with this package added. Called once at
     * start-up; a no-op when the converter is already in use or no layout asks for it.
     */
    public static void ensureActive() {
        if (created || !(LogManager.getContext(false) instanceof LoggerContext context)) {
            return;
        }
        boolean asked = context.getConfiguration().getAppenders().values().stream()
                .map(Appender::getLayout)
                .anyMatch(layout -> layout instanceof PatternLayout p && p.getConversionPattern().contains("%redact"));
        if (asked) {
            PluginManager.addPackage(RedactingConverter.class.getPackageName());
            context.reconfigure();
        }
    }

    @Override
    public void format(LogEvent event, StringBuilder toAppendTo) {
        StringBuilder inner = new StringBuilder();
        for (PatternFormatter formatter : formatters) {
            formatter.format(event, inner);
        }
        toAppendTo.append(Redaction.redact(inner.toString()));
    }

    /** The layout must not append an unredacted exception of its own when ours prints it. */
    @Override
    public boolean handlesThrowable() {
        return formatters.stream().anyMatch(PatternFormatter::handlesThrowable);
    }
}
