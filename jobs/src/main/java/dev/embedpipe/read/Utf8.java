package dev.embedpipe.read;

import java.nio.charset.StandardCharsets;

/** Strict UTF-8 checks (no overlong forms, no surrogates, nothing above U+10FFFF) and lenient excerpts. */
public final class Utf8 {
    private Utf8() {}

    /** The index of the first byte that is not valid UTF-8, or -1 when all of {@code bytes[from, to)} is valid. */
    public static int firstInvalid(byte[] bytes, int from, int to) {
        int i = from;
        while (i < to) {
            int b = bytes[i];
            if (b >= 0) {
                i++;
                continue;
            }
            int lead = b & 0xFF;
            int need;
            int min;
            if (lead >= 0xC2 && lead <= 0xDF) {
                need = 1;
                min = 0x80;
            } else if (lead >= 0xE0 && lead <= 0xEF) {
                need = 2;
                min = 0x800;
            } else if (lead >= 0xF0 && lead <= 0xF4) {
                need = 3;
                min = 0x10000;
            } else {
                return i;
            }
            if (i + need >= to) {
                return i; // truncated sequence at the end
            }
            int cp = lead & (0x3F >> need);
            for (int k = 1; k <= need; k++) {
                int c = bytes[i + k] & 0xFF;
                if ((c & 0xC0) != 0x80) {
                    return i;
                }
                cp = (cp << 6) | (c & 0x3F);
            }
            if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
                return i;
            }
            i += need + 1;
        }
        return -1;
    }

    /** Up to {@code maxBytes} of a raw line as text, invalid bytes shown as U+FFFD, for reject excerpts. */
    public static String excerpt(byte[] bytes, int length, int maxBytes) {
        int n = Math.min(length, maxBytes);
        while (n > 0 && n < length && (bytes[n] & 0xC0) == 0x80) {
            n--; // don't cut a multi-byte character in half
        }
        return new String(bytes, 0, n, StandardCharsets.UTF_8);
    }
}
