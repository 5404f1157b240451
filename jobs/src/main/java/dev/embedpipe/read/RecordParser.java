package dev.embedpipe.read;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.embedpipe.util.Hashing;

import java.io.IOException;
import java.math.BigDecimal;
import java.util.Iterator;
import java.util.Map;

/**
 * Turns one JSONL line into the id, text and metadata of a document, or into the reason it is rejected.
 * Everything a real file commonly holds (numeric ids, extra fields) is accepted; anything else gets a reason.
 *
 * <p>The parser's limits follow {@code input.max_line_bytes}: a string may be as long as the line (a character
 * takes at least one byte), so no line the reader accepts is refused for a long string. Nesting and number
 * lengths have fixed limits no real record comes near ({@link #MAX_NESTING_DEPTH}, {@link #MAX_NUMBER_CHARS});
 * a numeric id is kept as its plain decimal text only up to {@link #MAX_ID_DIGITS} digits, since
 * {@code 1e2000000000} is short to write and two billion digits to print.
 */
public final class RecordParser {
    /** Deepest nesting of objects and arrays accepted in a record (Jackson's default). */
    public static final int MAX_NESTING_DEPTH = 1000;
    /** Longest number literal accepted anywhere in a record, in characters (Jackson's default). */
    public static final int MAX_NUMBER_CHARS = 1000;
    /** Longest plain decimal form of a numeric id, in digits. */
    public static final int MAX_ID_DIGITS = 64;

    private final ObjectReader reader;
    private final String idField;
    private final String textField;

    /** @param maxLineBytes {@code input.max_line_bytes}: the longest line the reader hands over */
    public RecordParser(String idField, String textField, long maxLineBytes) {
        this.idField = idField;
        this.textField = textField;
        int maxString = (int) Math.max(1, Math.min(Integer.MAX_VALUE, maxLineBytes));
        JsonFactory factory = JsonFactory.builder().streamReadConstraints(StreamReadConstraints.builder()
                .maxStringLength(maxString)
                .maxNameLength(maxString)
                .maxDocumentLength(maxString)
                .maxNestingDepth(MAX_NESTING_DEPTH)
                .maxNumberLength(MAX_NUMBER_CHARS)
                .build()).build();
        this.reader = new ObjectMapper(factory).reader()
                .with(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
                .with(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS);
    }

    /** A parsed line: either {@code rejectReason} is set, or id, text and metadata are. */
    public record Parsed(String id, String text, String metadata, String rejectReason) {
        static Parsed reject(String reason) {
            return new Parsed(null, null, null, reason);
        }
    }

    public Parsed parse(byte[] bytes, int length) {
        int bad = Utf8.firstInvalid(bytes, 0, length);
        if (bad >= 0) {
            return Parsed.reject("invalid UTF-8 at byte " + bad + " of the line");
        }
        JsonNode node;
        try {
            node = reader.readTree(bytes, 0, length);
        } catch (StreamConstraintsException e) {
            return Parsed.reject("JSON exceeds parser limits: " + shortMessage(e));
        } catch (JsonProcessingException e) {
            return Parsed.reject("invalid JSON: " + shortMessage(e));
        } catch (IOException | RuntimeException e) {
            return Parsed.reject("unreadable JSON: " + e.getClass().getSimpleName());
        }
        if (node == null || !node.isObject()) {
            return Parsed.reject("not a JSON object (found " + kind(node) + ")");
        }
        ObjectNode object = (ObjectNode) node;

        JsonNode textNode = object.get(textField);
        String text;
        if (textNode == null) {
            return Parsed.reject("missing text field '" + textField + "'");
        } else if (textNode.isNull()) {
            return Parsed.reject("text field '" + textField + "' is null");
        } else if (!textNode.isTextual()) {
            return Parsed.reject("text field '" + textField + "' is not a string (found " + kind(textNode) + ")");
        } else {
            text = textNode.textValue();
            if (text.isEmpty()) {
                return Parsed.reject("text field '" + textField + "' is empty");
            }
            String surrogate = loneSurrogate(text);
            if (surrogate != null) {
                return Parsed.reject("text field '" + textField + "' holds " + surrogate);
            }
            if (text.isBlank() || text.codePoints().allMatch(cp -> Character.isWhitespace(cp) || Character.isSpaceChar(cp))) {
                return Parsed.reject("text field '" + textField + "' is only whitespace");
            }
        }

        JsonNode idNode = object.get(idField);
        String id;
        if (idNode == null || idNode.isNull()) {
            // Stable across runs: derived from the record's own bytes.
            id = "sha256:" + Hashing.sha256Hex(bytes, 0, length).substring(0, 32);
        } else if (idNode.isTextual()) {
            id = idNode.textValue();
            if (id.isEmpty()) {
                return Parsed.reject("id field '" + idField + "' is an empty string");
            }
            String surrogate = loneSurrogate(id);
            if (surrogate != null) {
                return Parsed.reject("id field '" + idField + "' holds " + surrogate);
            }
        } else if (idNode.isNumber()) {
            BigDecimal number = idNode.isIntegralNumber() ? new BigDecimal(idNode.bigIntegerValue()) : idNode.decimalValue().stripTrailingZeros();
            long digits = plainDigits(number);
            if (digits > MAX_ID_DIGITS) {
                return Parsed.reject("id field '" + idField + "' is a number of " + digits + " digits written out, over "
                        + MAX_ID_DIGITS + " (write it as a string)");
            }
            id = number.toPlainString();
        } else {
            return Parsed.reject("id field '" + idField + "' must be a string or a number (found " + kind(idNode) + ")");
        }

        object.remove(idField);
        object.remove(textField);
        String surrogate = loneSurrogateIn(object);
        if (surrogate != null) {
            return Parsed.reject("metadata " + surrogate);
        }
        return new Parsed(id, text, object.toString(), null);
    }

    /** Digits of {@code number.toPlainString()} (sign and point aside), computed without building it. */
    static long plainDigits(BigDecimal number) {
        long precision = number.precision();
        long scale = number.scale();
        if (scale <= 0) {
            return precision - scale; // the digits, then -scale zeros
        }
        return Math.max(precision, scale + 1); // 0.000ddd or ddd.ddd
    }

    /**
     * A description of the first unpaired UTF-16 surrogate in {@code s} (JSON can write one as "\\ud800"; it
     * is no character, so it has no UTF-8 form to store or tokenize), or null when there is none.
     */
    static String loneSurrogate(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                i++;
            } else if (Character.isSurrogate(c)) {
                return String.format("an unpaired surrogate \\u%04x at character %d", (int) c, i);
            }
        }
        return null;
    }

    /** {@link #loneSurrogate} over every field name and string value in a tree, naming the field. */
    private static String loneSurrogateIn(JsonNode node) {
        if (node.isTextual()) {
            return loneSurrogate(node.textValue());
        }
        if (node.isObject()) {
            for (Iterator<Map.Entry<String, JsonNode>> it = node.properties().iterator(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> field = it.next();
                String found = loneSurrogate(field.getKey());
                if (found == null) {
                    found = loneSurrogateIn(field.getValue());
                }
                if (found != null) {
                    return found.startsWith("field ") ? found : "field '" + printable(field.getKey()) + "' holds " + found;
                }
            }
        } else if (node.isArray()) {
            for (JsonNode item : node) {
                String found = loneSurrogateIn(item);
                if (found != null) {
                    return found;
                }
            }
        }
        return null;
    }

    private static String printable(String name) {
        StringBuilder out = new StringBuilder();
        name.codePoints().limit(60).forEach(cp -> out.append(Character.isSurrogate((char) cp) && cp < 0x10000 ? "?" : Character.toString(cp)));
        return out.toString();
    }

    private static String kind(JsonNode node) {
        if (node == null || node.isMissingNode()) {
            return "nothing";
        }
        return switch (node.getNodeType()) {
            case ARRAY -> "an array";
            case OBJECT -> "an object";
            case STRING -> "a string";
            case NUMBER -> "a number";
            case BOOLEAN -> "a boolean";
            case NULL -> "null";
            default -> node.getNodeType().name().toLowerCase();
        };
    }

    private static String shortMessage(JsonProcessingException e) {
        String message = e.getOriginalMessage();
        if (message == null) {
            message = e.getClass().getSimpleName();
        }
        int nl = message.indexOf('\n');
        message = nl < 0 ? message : message.substring(0, nl);
        if (e.getLocation() != null && e.getLocation().getColumnNr() > 0) {
            message += " (column " + e.getLocation().getColumnNr() + ")";
        }
        return message.length() > 300 ? message.substring(0, 300) : message;
    }
}
