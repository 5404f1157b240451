package dev.embedpipe.clean;

import java.text.Normalizer;
import java.util.Arrays;
import java.util.List;
import java.util.function.UnaryOperator;

/** The named cleaning steps a config can list under {@code clean.steps}; each is a small pure function. */
public enum CleanStep {
    /** Unicode compatibility composition: full-width forms, ligatures and the like become their plain forms. */
    NFKC("nfkc", text -> Normalizer.isNormalized(text, Normalizer.Form.NFKC)
            ? text : Normalizer.normalize(text, Normalizer.Form.NFKC)),
    /** Drops C0/C1 control characters (keeping tab and newline) and lone surrogates, which no encoder can write. */
    DROP_CONTROL_CHARS("drop_control_chars", CleanStep::dropControlChars),
    /** Whitespace runs become one space, or one newline when the run held a line break; ends are trimmed. */
    COLLAPSE_WHITESPACE("collapse_whitespace", CleanStep::collapseWhitespace);

    private final String configName;
    private final UnaryOperator<String> function;

    CleanStep(String configName, UnaryOperator<String> function) {
        this.configName = configName;
        this.function = function;
    }

    public String configName() {
        return configName;
    }

    public String apply(String text) {
        return function.apply(text);
    }

    public static CleanStep byName(String name) {
        for (CleanStep step : values()) {
            if (step.configName.equals(name)) {
                return step;
            }
        }
        return null;
    }

    public static List<String> names() {
        return Arrays.stream(values()).map(CleanStep::configName).toList();
    }

    static String dropControlChars(String text) {
        int n = text.length();
        int i = 0;
        while (i < n && keep(text, i)) {
            i++;
        }
        if (i == n) {
            return text; // the common case: nothing to drop, no copy
        }
        StringBuilder out = new StringBuilder(n);
        out.append(text, 0, i);
        for (; i < n; i++) {
            if (keep(text, i)) {
                out.append(text.charAt(i));
            }
        }
        return out.toString();
    }

    private static boolean keep(String text, int i) {
        char c = text.charAt(i);
        if (c == '\n' || c == '\t') {
            return true;
        }
        if (Character.isISOControl(c)) {
            return false;
        }
        if (Character.isHighSurrogate(c)) {
            return i + 1 < text.length() && Character.isLowSurrogate(text.charAt(i + 1));
        }
        if (Character.isLowSurrogate(c)) {
            return i > 0 && Character.isHighSurrogate(text.charAt(i - 1));
        }
        return true;
    }

    static String collapseWhitespace(String text) {
        StringBuilder out = new StringBuilder(text.length());
        int i = 0;
        int n = text.length();
        while (i < n) {
            char c = text.charAt(i);
            if (isSpace(c)) {
                boolean newline = false;
                while (i < n && isSpace(text.charAt(i))) {
                    newline |= text.charAt(i) == '\n';
                    i++;
                }
                if (out.length() > 0 && i < n) {
                    out.append(newline ? '\n' : ' ');
                }
            } else {
                out.append(c);
                i++;
            }
        }
        return out.toString();
    }

    private static boolean isSpace(char c) {
        return Character.isWhitespace(c) || Character.isSpaceChar(c);
    }
}
