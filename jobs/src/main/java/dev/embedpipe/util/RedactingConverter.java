package dev.embedpipe.util;

import org.apache.logging.log4j.core.LogEvent;
import org.apache.logging.log4j.core.config.Configuration;
import org.apache.logging.log4j.core.config.plugins.Plugin;
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
    private final List<PatternFormatter> formatters;

    private RedactingConverter(List<PatternFormatter> formatters) {
        super("redact", "redact");
        this.formatters = formatters;
    }

    /** Called by log4j with the text between the braces; without any, the message alone. */
    public static RedactingConverter newInstance(Configuration config, String[] options) {
        String pattern = options != null && options.length > 0 && options[0] != null ? options[0] : "%m";
        return new RedactingConverter(PatternLayout.createPatternParser(config).parse(pattern, false, true, true));
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
