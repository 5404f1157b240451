package dev.embedpipe.util;

import java.util.Set;
import java.util.concurrent.CopyOnWriteArraySet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The one place that removes secrets from text before it is printed or stored: error rows, the manifest, log
 * lines (through {@link RedactingConverter}), exception messages. It removes the keys this JVM loaded
 * ({@link #register}, called where a key is read, on the driver and on executors) and anything shaped like a key
 * even when it was never registered: {@code sk-...} tokens, {@code Bearer}/{@code Basic} credentials, and the
 * values of {@code Authorization}, {@code api-key}, {@code x-api-key} and similar headers or parameters, whether
 * written as {@code name: value}, {@code name=value} or JSON {@code "name": "value"}.
 *
 * <p>Replacements never swallow quotes, commas or brackets, so redacted JSON stays valid JSON.
 */
public final class Redaction {
    public static final String MASK = "[REDACTED]";
    /** Shorter values are not registered: masking every "abc" in every message would hide more than it protects. */
    static final int MIN_SECRET_LENGTH = 8;

    private static final Set<String> SECRETS = new CopyOnWriteArraySet<>();

    /** Credentials after an auth scheme word: {@code Bearer abc.def}, {@code Basic dXNlcjpw}. */
    private static final Pattern SCHEME = Pattern.compile("(?i)\\b(Bearer|Basic)(\\s+)(?!\\[REDACTED])[A-Za-z0-9._~+/=:-]+");
    /**
     * A secret-named header or parameter and its value, up to a quote, comma, semicolon, bracket, ampersand or
     * white space. A value that is an auth scheme is left to {@link #SCHEME}, which keeps the scheme word; one already masked
     * (ours, or the manifest's {@code *********(redacted)}) is left as it is.
     */
    private static final Pattern NAMED = Pattern.compile(
            "(?i)((?:proxy-)?authorization|(?:x[-_])?api[-_]?key|access[-_]?token|client[-_]?secret)"
                    + "(\"?+\\s*+[:=]\\s*+\\[?+\\s*+\"?+)(?!(?:Bearer|Basic)\\s|\\[REDACTED]|\\*)[^\\s\"',;&{}\\[\\]\\\\]+");
    /** OpenAI-style keys ({@code sk-...}, {@code sk-proj-...}) and Hugging Face tokens ({@code hf_...}). */
    private static final Pattern KEY_SHAPED = Pattern.compile("\\b(?:sk-[A-Za-z0-9_-]{12,}|hf_[A-Za-z0-9]{20,})");

    private Redaction() {}

    /** Remembers a secret this JVM uses (an API key, a secret header's value) so that it is masked wherever it appears. */
    public static void register(String secret) {
        if (secret != null && secret.strip().length() >= MIN_SECRET_LENGTH) {
            SECRETS.add(secret.strip());
        }
    }

    /** {@code text} with every registered secret and everything shaped like a credential replaced by {@link #MASK}. */
    public static String redact(String text) {
        if (text == null || text.isEmpty()) {
            return text;
        }
        String out = text;
        for (String secret : SECRETS) {
            if (out.contains(secret)) {
                out = out.replace(secret, MASK);
            }
        }
        out = KEY_SHAPED.matcher(out).replaceAll(MASK);
        out = SCHEME.matcher(out).replaceAll(m -> Matcher.quoteReplacement(m.group(1) + m.group(2) + MASK));
        out = NAMED.matcher(out).replaceAll(m -> Matcher.quoteReplacement(m.group(1) + m.group(2) + MASK));
        return out;
    }

    /** Forgets registered secrets (tests). */
    static void clearForTests() {
        SECRETS.clear();
    }
}
