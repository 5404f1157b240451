package dev.embedpipe.read;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.embedpipe.util.Hashing;

import java.io.IOException;

/**
 * Turns one JSONL line into the id, text and metadata of a document, or into the reason it is rejected.
 * Everything a real file commonly holds (numeric ids, extra fields) is accepted; anything else gets a reason.
 */
public final class RecordParser {
    private static final ObjectReader READER = new ObjectMapper()
            .reader()
            .with(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .with(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS);

    private final String idField;
    private final String textField;

    public RecordParser(String idField, String textField) {
        this.idField = idField;
        this.textField = textField;
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
            node = READER.readTree(bytes, 0, length);
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
        } else if (idNode.isIntegralNumber()) {
            id = idNode.bigIntegerValue().toString();
        } else if (idNode.isNumber()) {
            id = idNode.decimalValue().stripTrailingZeros().toPlainString();
        } else {
            return Parsed.reject("id field '" + idField + "' must be a string or a number (found " + kind(idNode) + ")");
        }

        object.remove(idField);
        object.remove(textField);
        return new Parsed(id, text, object.toString(), null);
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
