package dev.embedpipe.clean;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

class CleanerTest {
    private final Cleaner all = new Cleaner(List.of("nfkc", "drop_control_chars", "collapse_whitespace"), 5);

    @Test
    void nfkcFoldsCompatibilityForms() {
        assertEquals("Hello fi 2 km", CleanStep.NFKC.apply("Ｈｅｌｌｏ ﬁ ² ㎞"));
        assertEquals("é", CleanStep.NFKC.apply("e\u0301"));
    }

    @Test
    void controlCharactersAndLoneSurrogatesAreDroppedButTabsNewlinesAndEmojiStay() {
        assertEquals("ab\tc\nd😀", CleanStep.DROP_CONTROL_CHARS.apply("a\u0000b\tc\nd\u0007\u009f😀"));
        assertEquals("ab", CleanStep.DROP_CONTROL_CHARS.apply("a\uD800b"));
        assertEquals("ab", CleanStep.DROP_CONTROL_CHARS.apply("a\uDC00b"));
        String unchanged = "plain text";
        assertEquals(unchanged, CleanStep.DROP_CONTROL_CHARS.apply(unchanged));
    }

    @Test
    void whitespaceRunsCollapseKeepingLineBreaks() {
        assertEquals("a b\nc d", CleanStep.COLLAPSE_WHITESPACE.apply("  a \t  b \r\n\n  c\u00A0\u2003d \n "));
        assertEquals("", CleanStep.COLLAPSE_WHITESPACE.apply(" \n\t "));
    }

    @Test
    void stepsComposeInConfiguredOrder() {
        assertEquals("Ｈｉ  there", new Cleaner(List.of("drop_control_chars"), 0).clean("Ｈｉ  the\u0000re"));
        assertEquals("Hi there", all.clean("  Ｈｉ \u0000 the\u0000re "));
    }

    @Test
    void filterCountsCodePointsAgainstMinChars() {
        assertEquals("empty after cleaning", all.filterReason(""));
        assertEquals("shorter than clean.min_chars", all.filterReason("abcd"));
        assertNull(all.filterReason("abcde"));
        assertEquals("shorter than clean.min_chars", all.filterReason("😀😀😀😀"), "4 emoji are 4 characters, not 8");
        assertNull(new Cleaner(List.of(), 0).filterReason("a"));
    }
}
