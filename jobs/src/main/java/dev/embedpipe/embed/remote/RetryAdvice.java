package dev.embedpipe.embed.remote;

import java.net.http.HttpHeaders;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How long to wait before retrying: what the server asked for ({@code Retry-After} in seconds or as an HTTP date,
 * {@code retry-after-ms}, OpenAI's {@code x-ratelimit-reset-requests/-tokens} durations such as {@code 6m0s} or
 * {@code 12ms}), else exponential backoff with full jitter. Missing, negative or absurd values fall back or are
 * capped; nothing waits forever.
 */
public final class RetryAdvice {
    private static final Pattern DURATION_PART = Pattern.compile("(\\d+(?:\\.\\d+)?)(ms|h|m|s)");

    private RetryAdvice() {}

    /** What the answer's headers ask for, capped at {@code cap}; empty when they ask for nothing usable. */
    public static Optional<Duration> fromHeaders(HttpHeaders headers, Duration cap, long nowMillis) {
        Duration best = null;
        Optional<String> ms = headers.firstValue("retry-after-ms");
        if (ms.isPresent()) {
            best = max(best, millis(ms.get()));
        }
        Optional<String> retryAfter = headers.firstValue("retry-after");
        if (retryAfter.isPresent()) {
            best = max(best, retryAfter(retryAfter.get(), nowMillis));
        }
        for (String name : new String[] {"x-ratelimit-reset-requests", "x-ratelimit-reset-tokens"}) {
            Optional<String> value = headers.firstValue(name);
            if (value.isPresent()) {
                best = max(best, duration(value.get()));
            }
        }
        if (best == null || best.isNegative() || best.isZero()) {
            return Optional.empty();
        }
        return Optional.of(best.compareTo(cap) > 0 ? cap : best);
    }

    /** Full jitter: uniform in [0, min(cap, base * 2^(attempt-1))]. */
    public static Duration backoff(int attempt, Duration base, Duration cap) {
        double ceiling = Math.min(cap.toMillis(), base.toMillis() * Math.pow(2, Math.max(0, attempt - 1)));
        return Duration.ofMillis((long) (ThreadLocalRandom.current().nextDouble() * ceiling));
    }

    static Duration retryAfter(String value, long nowMillis) {
        String v = value.trim();
        try {
            double seconds = Double.parseDouble(v);
            return seconds > 0 ? Duration.ofMillis((long) (seconds * 1000)) : null;
        } catch (NumberFormatException notSeconds) {
            try {
                long at = ZonedDateTime.parse(v, DateTimeFormatter.RFC_1123_DATE_TIME).toInstant().toEpochMilli();
                return at > nowMillis ? Duration.ofMillis(at - nowMillis) : null;
            } catch (RuntimeException notADate) {
                return null;
            }
        }
    }

    /** Go-style durations as OpenAI sends them: {@code 1s}, {@code 6m0s}, {@code 12ms}, {@code 1h2m3.5s}. */
    static Duration duration(String value) {
        String v = value.trim();
        Matcher m = DURATION_PART.matcher(v);
        double millis = 0;
        int end = 0;
        boolean any = false;
        while (m.find()) {
            if (m.start() != end) {
                return null;
            }
            double n = Double.parseDouble(m.group(1));
            millis += switch (m.group(2)) {
                case "h" -> n * 3_600_000;
                case "m" -> n * 60_000;
                case "s" -> n * 1000;
                default -> n;
            };
            end = m.end();
            any = true;
        }
        if (!any || end != v.length()) {
            return null;
        }
        return millis > 0 ? Duration.ofMillis((long) Math.ceil(millis)) : null;
    }

    private static Duration millis(String value) {
        try {
            double ms = Double.parseDouble(value.trim());
            return ms > 0 ? Duration.ofMillis((long) Math.ceil(ms)) : null;
        } catch (NumberFormatException e) {
            return null;
        }
    }

    private static Duration max(Duration a, Duration b) {
        if (a == null) {
            return b;
        }
        if (b == null) {
            return a;
        }
        return a.compareTo(b) >= 0 ? a : b;
    }
}
