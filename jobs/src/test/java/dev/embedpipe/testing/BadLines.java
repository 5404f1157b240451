package dev.embedpipe.testing;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A JSONL file holding every kind of line a real file can hold, good and bad, with what each must become:
 * "doc:ID" for a document with that id, "skip" for a blank line, or a fragment of the reject reason.
 */
public final class BadLines {
    private BadLines() {}

    public static final String GOOD_TEXT = "A good document with enough text to pass any cleaning step.";

    /** Random bytes as hex: one long "word" that WordPiece cannot spell (over 100 characters) is its [UNK]. */
    public static String hex(int bytes) {
        byte[] b = new byte[bytes];
        new java.util.Random(7).nextBytes(b);
        return java.util.HexFormat.of().formatHex(b);
    }

    /** Expected outcome by 1-based line number, in file order. */
    public static Map<Integer, String> expected() {
        Map<Integer, String> e = new LinkedHashMap<>();
        String[] outcomes = {
            "doc:a", "skip", "invalid JSON", "invalid JSON", "not a JSON object (found an array)",
            "not a JSON object (found a string)", "JSON exceeds parser limits", "invalid UTF-8",
            "missing text field 'text'", "text field 'text' is null", "text field 'text' is empty",
            "text field 'text' is not a string (found a number)", "text field 'text' is only whitespace",
            "id field 'id' must be a string or a number (found an object)",
            "id field 'id' must be a string or a number (found an array)", "doc:12345", "doc:sha256:", "skip",
            "doc:i", "doc:j", "invalid JSON",
            // hostile numbers, nesting and strings: each one line's reject (or document), never the run's end
            "id field 'id' is a number of 2000000001 digits written out, over 64",
            "id field 'id' is a number of 2000000001 digits written out, over 64",
            "id field 'id' is a number of 65 digits written out, over 64", "doc:" + "9".repeat(64),
            "doc:l", "invalid JSON", "invalid JSON", "JSON exceeds parser limits", "JSON exceeds parser limits",
            "doc:m", "text field 'text' holds an unpaired surrogate \\ud800 at character 4",
            "metadata field 'tags' holds an unpaired surrogate \\udc00", "id field 'id' holds an unpaired surrogate",
            "doc:1.5",
        };
        for (int i = 0; i < outcomes.length; i++) {
            e.put(i + 1, outcomes[i]);
        }
        return e;
    }

    /** The file's bytes: a BOM, CRLF line ends on one line, and no newline after the last line. */
    public static byte[] bytes() {
        return bytes("");
    }

    /** The same lines with every explicit string id prefixed, so several copies can share one run. */
    public static byte[] bytes(String idPrefix) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        write(out, "\uFEFF{\"id\":\"" + idPrefix + "a\",\"text\":\"" + GOOD_TEXT + "\"}\n");
        write(out, "\n");
        write(out, "not json\n");
        write(out, "{\"id\":\"" + idPrefix + "b\",\"text\":\"" + GOOD_TEXT + "\"} trailing\n");
        write(out, "[1,2,3]\n");
        write(out, "\"just a string\"\n");
        write(out, "{\"a\":".repeat(3000) + "1" + "}".repeat(3000) + "\n");
        write(out, "{\"id\":\"" + idPrefix + "c\",\"text\":\"bad ");
        out.write(0xFF);
        write(out, " byte\"}\n");
        write(out, "{\"id\":\"d\"}\n");
        write(out, "{\"id\":\"" + idPrefix + "e\",\"text\":null}\n");
        write(out, "{\"id\":\"" + idPrefix + "f\",\"text\":\"\"}\n");
        write(out, "{\"id\":\"" + idPrefix + "g\",\"text\":42}\n");
        write(out, "{\"id\":\"" + idPrefix + "h\",\"text\":\"  \\t \\n \"}\n");
        write(out, "{\"id\":{\"x\":1},\"text\":\"" + GOOD_TEXT + "\"}\n");
        write(out, "{\"id\":[1],\"text\":\"" + GOOD_TEXT + "\"}\n");
        write(out, "{\"id\":12345,\"text\":\"" + GOOD_TEXT + " numeric id\"}\n");
        write(out, "{\"text\":\"" + GOOD_TEXT + " no id\"}\n");
        write(out, "   \t \n");
        write(out, "{\"id\":\"" + idPrefix + "i\",\"text\":\"" + GOOD_TEXT + " crlf\"}\r\n");
        write(out, "{\"id\":\"" + idPrefix + "j\",\"text\":\"" + GOOD_TEXT + " extra\",\"lang\":\"en\",\"n\":[1,2]}\n");
        write(out, "{\"id\":\"" + idPrefix + "k\",\"text\":\"truncated obj\"\n");
        write(out, "{\"id\":1e2000000000,\"text\":\"" + GOOD_TEXT + "\"}\n");
        write(out, "{\"id\":-1E-2000000000,\"text\":\"" + GOOD_TEXT + "\"}\n");
        write(out, "{\"id\":" + "9".repeat(65) + ",\"text\":\"" + GOOD_TEXT + "\"}\n");
        write(out, "{\"id\":" + "9".repeat(64) + ",\"text\":\"" + GOOD_TEXT + " long id\"}\n");
        write(out, "{\"id\":\"" + idPrefix + "l\",\"text\":\"" + GOOD_TEXT + " big numbers\",\"n\":1e2000000000,\"m\":-1e-2000000000,"
                + "\"big\":" + "7".repeat(1000) + "}\n");
        write(out, "{\"id\":\"x\",\"text\":\"" + GOOD_TEXT + "\",\"n\":NaN}\n");
        write(out, "{\"id\":\"x\",\"text\":\"" + GOOD_TEXT + "\",\"n\":-Infinity}\n");
        write(out, "{\"id\":\"x\",\"text\":\"" + GOOD_TEXT + "\",\"n\":" + "7".repeat(1001) + "}\n");
        write(out, "{\"id\":\"x\",\"text\":\"" + GOOD_TEXT + "\",\"deep\":" + "[".repeat(1001) + "]".repeat(1001) + "}\n");
        write(out, "{\"id\":\"" + idPrefix + "m\",\"text\":\"" + GOOD_TEXT + " nested\",\"deep\":" + "[".repeat(990) + "]".repeat(990) + "}\n");
        write(out, "{\"id\":\"x\",\"text\":\"bad \\ud800 surrogate " + GOOD_TEXT + "\"}\n");
        write(out, "{\"id\":\"x\",\"text\":\"" + GOOD_TEXT + "\",\"tags\":[\"ok\",\"\\udc00\"]}\n");
        write(out, "{\"id\":\"x\\udbff\",\"text\":\"" + GOOD_TEXT + "\"}\n");
        write(out, "{\"id\":1.50,\"text\":\"" + GOOD_TEXT + " decimal id\"}");
        return out.toByteArray();
    }

    private static void write(ByteArrayOutputStream out, String s) {
        out.writeBytes(s.getBytes(StandardCharsets.UTF_8));
    }
}
