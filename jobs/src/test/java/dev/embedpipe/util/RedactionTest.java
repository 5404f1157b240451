package dev.embedpipe.util;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.core.LogEvent;
import org.apache.logging.log4j.core.config.DefaultConfiguration;
import org.apache.logging.log4j.core.impl.Log4jLogEvent;
import org.apache.logging.log4j.core.layout.PatternLayout;
import org.apache.logging.log4j.message.SimpleMessage;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

class RedactionTest {
    @AfterEach
    void forget() {
        Redaction.clearForTests();
    }

    @Test
    void aRegisteredKeyIsMaskedWhateverItsShape() {
        Redaction.register("  plainsecretvalue42\n");
        assertEquals("key=[REDACTED] and again [REDACTED].", Redaction.redact("key=plainsecretvalue42 and again plainsecretvalue42."));
    }

    @Test
    void tooShortValuesAreNotRegistered() {
        Redaction.register("abc");
        Redaction.register(null);
        assertEquals("abc stays", Redaction.redact("abc stays"));
    }

    @Test
    void keyShapedTokensAreMaskedWithoutRegistration() {
        assertEquals("used [REDACTED] here", Redaction.redact("used sk-proj-AbCdEf0123456789xyz here"));
        assertEquals("token [REDACTED].", Redaction.redact("token hf_abcdefghijklmnopqrstuvwxyz0123."));
        assertEquals("task-abcdefghijklmnopqrstu and sk-short stay", Redaction.redact("task-abcdefghijklmnopqrstu and sk-short stay"));
    }

    @Test
    void authorizationAndApiKeyValuesAreMaskedInHeaderQueryAndJsonForms() {
        assertEquals("Authorization: Bearer [REDACTED]", Redaction.redact("Authorization: Bearer abc.def-ghi"));
        assertEquals("authorization: Basic [REDACTED]", Redaction.redact("authorization: Basic dXNlcjpwYXNz"));
        assertEquals("api-key: [REDACTED]", Redaction.redact("api-key: 0123abcd"));
        assertEquals("x-api-key=[REDACTED]&b=1", Redaction.redact("x-api-key=zzz999&b=1"));
        assertEquals("GET /v1?api_key=[REDACTED] HTTP", Redaction.redact("GET /v1?api_key=qwerty HTTP"));
        assertEquals("{\"Authorization\":[\"Bearer [REDACTED]\"],\"api-key\":\"[REDACTED]\"}",
                Redaction.redact("{\"Authorization\":[\"Bearer tok123\"],\"api-key\":\"azurekey\"}"));
    }

    @Test
    void wordsThatOnlyMentionKeysStay() {
        String text = "check the API key: the environment variable OPENAI_API_KEY (embedder.api_key_env), "
                + "api_key_file unset; max_tokens=300000; \"Authorization\" : \"*********(redacted)\"";
        assertEquals(text, Redaction.redact(text));
    }

    @Test
    void redactedJsonStaysValidJson() throws IOException {
        Redaction.register("sk-registered-0123456789");
        String json = "{\"error\":{\"message\":\"bad\",\"headers\":{\"authorization\":\"Bearer sk-registered-0123456789\","
                + "\"api-key\":\"k-1\",\"x\":\"sk-other-0123456789abcdef\"}},\"note\":\"Bearer \\\"q\\\"\"}";
        JsonNode tree = new ObjectMapper().readTree(Redaction.redact(json));
        assertEquals("Bearer [REDACTED]", tree.at("/error/headers/authorization").asText());
        assertEquals("[REDACTED]", tree.at("/error/headers/api-key").asText());
        assertEquals("[REDACTED]", tree.at("/error/headers/x").asText());
    }

    @Test
    void nullAndEmptyPassThrough() {
        assertEquals(null, Redaction.redact(null));
        assertEquals("", Redaction.redact(""));
    }

    @Test
    void theLogConverterMasksMessagesAndExceptions() {
        Redaction.register("sk-logged-0123456789abc");
        PatternLayout layout = PatternLayout.newBuilder().withConfiguration(new DefaultConfiguration())
                .withPattern("%p %redact{%m%n%ex}").withAlwaysWriteExceptions(false).build();
        LogEvent event = Log4jLogEvent.newBuilder().setLevel(Level.ERROR).setLoggerName("t")
                .setMessage(new SimpleMessage("sending with key sk-logged-0123456789abc"))
                .setThrown(new IllegalStateException("answer echoed Authorization: Bearer sk-logged-0123456789abc",
                        new IOException("api-key: azure0123")))
                .build();
        String line = layout.toSerializable(event);
        assertThat(line).startsWith("ERROR sending with key [REDACTED]").contains("IllegalStateException", "Bearer [REDACTED]",
                "api-key: [REDACTED]", "at dev.embedpipe.util.RedactionTest").doesNotContain("sk-logged", "azure0123");
    }
}
