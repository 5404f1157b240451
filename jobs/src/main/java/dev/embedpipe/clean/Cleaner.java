package dev.embedpipe.clean;

import java.io.Serializable;
import java.util.List;

/** Applies the configured cleaning steps in order and decides whether a cleaned text is long enough to keep. */
public final class Cleaner implements Serializable {
    private final List<CleanStep> steps;
    private final int minChars;

    public Cleaner(List<String> stepNames, int minChars) {
        this.steps = stepNames.stream().map(name -> {
            CleanStep step = CleanStep.byName(name);
            if (step == null) {
                throw new IllegalArgumentException("unknown clean step " + name);
            }
            return step;
        }).toList();
        this.minChars = minChars;
    }

    public String clean(String text) {
        String result = text;
        for (CleanStep step : steps) {
            result = step.apply(result);
        }
        return result;
    }

    /** Why a cleaned text is filtered, or null when it is kept. Length counts code points, not UTF-16 units. */
    public String filterReason(String cleaned) {
        if (cleaned.isEmpty()) {
            return "empty after cleaning";
        }
        if (minChars > 0 && cleaned.codePointCount(0, cleaned.length()) < minChars) {
            return "shorter than clean.min_chars";
        }
        return null;
    }
}
