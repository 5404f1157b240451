package dev.embedpipe.embed.remote;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.embedpipe.testing.ScriptedEmbeddingServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/** Answers decoded straight from bytes: the right vectors in input order, and every untrustworthy answer refused. */
class WireFormatTest {
    private final WireFormat openAi = new OpenAiWireFormat();
    private final WireFormat tei = new TeiWireFormat();

    private static float[][] vectors(int n, int dims) {
        float[][] v = new float[n][];
        for (int i = 0; i < n; i++) {
            v[i] = ScriptedEmbeddingServer.vectorFor("text " + i, dims);
        }
        return v;
    }

    /** An OpenAI answer listing the vectors in reverse order, with the fields OpenAI adds around them. */
    private static byte[] openAiAnswer(float[][] vectors, boolean base64) throws Exception {
        ObjectNode root = WireFormat.JSON.createObjectNode().put("object", "list");
        ArrayNode data = root.putArray("data");
        for (int i = vectors.length - 1; i >= 0; i--) {
            ObjectNode item = data.addObject();
            if (base64) {
                item.put("embedding", ScriptedEmbeddingServer.base64(vectors[i]));
            } else {
                ArrayNode values = item.putArray("embedding");
                for (float x : vectors[i]) {
                    values.add(x);
                }
            }
            item.put("index", i).put("object", "embedding").putObject("extra").putArray("nested").add(1);
        }
        root.put("model", "m").putObject("usage").put("prompt_tokens", 3);
        return WireFormat.JSON.writeValueAsBytes(root);
    }

    private static byte[] bytes(String json) {
        return json.getBytes(StandardCharsets.UTF_8);
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void openAiAnswersComeBackInInputOrderWithTheExactFloats(boolean base64) throws Exception {
        float[][] expected = vectors(5, 16);
        float[][] got = openAi.parse(openAiAnswer(expected, base64), 5, 16);
        for (int i = 0; i < 5; i++) {
            assertArrayEquals(expected[i], got[i], 0f, "vector " + i);
        }
    }

    @Test
    void teiAnswersAreBareArraysInInputOrder() throws Exception {
        float[][] expected = vectors(3, 8);
        float[][] got = tei.parse(WireFormat.JSON.writeValueAsBytes(expected), 3, null);
        for (int i = 0; i < 3; i++) {
            assertArrayEquals(expected[i], got[i], 0f);
        }
        assertThat(tei.parse(bytes("[[1, 2.5e-1]]"), 1, 2)[0]).containsExactly(1f, 0.25f);
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "", "not json", "{\"data\": [{\"index\": 0, \"embedding\": [1, 2]}", "[]", "{\"object\": \"list\"}",
            "{\"data\": {}}", "{\"data\": []}",
            "{\"data\": [{\"index\": 0, \"embedding\": [1, 2]}, {\"index\": 0, \"embedding\": [1, 2]}]}",
            "{\"data\": [{\"index\": 0, \"embedding\": [1, 2]}, {\"index\": 1, \"embedding\": [1, 2]}, {\"index\": 2, \"embedding\": [1, 2]}]}",
            "{\"data\": [{\"embedding\": [1, 2]}, {\"index\": 1, \"embedding\": [1, 2]}]}",
            "{\"data\": [{\"index\": 2, \"embedding\": [1, 2]}, {\"index\": 1, \"embedding\": [1, 2]}]}",
            "{\"data\": [{\"index\": -1, \"embedding\": [1, 2]}, {\"index\": 1, \"embedding\": [1, 2]}]}",
            "{\"data\": [{\"index\": \"0\", \"embedding\": [1, 2]}, {\"index\": 1, \"embedding\": [1, 2]}]}",
            "{\"data\": [{\"index\": 0}, {\"index\": 1, \"embedding\": [1, 2]}]}",
            "{\"data\": [{\"index\": 0, \"embedding\": null}, {\"index\": 1, \"embedding\": [1, 2]}]}",
            "{\"data\": [{\"index\": 0, \"embedding\": [null, 2]}, {\"index\": 1, \"embedding\": [1, 2]}]}",
            "{\"data\": [{\"index\": 0, \"embedding\": [\"1\", 2]}, {\"index\": 1, \"embedding\": [1, 2]}]}",
            "{\"data\": [{\"index\": 0, \"embedding\": [[1], 2]}, {\"index\": 1, \"embedding\": [1, 2]}]}",
            "{\"data\": [{\"index\": 0, \"embedding\": [NaN, 2]}, {\"index\": 1, \"embedding\": [1, 2]}]}",
            "{\"data\": [{\"index\": 0, \"embedding\": [1e999, 2]}, {\"index\": 1, \"embedding\": [1, 2]}]}",
            "{\"data\": [{\"index\": 0, \"embedding\": [1, 2, 3]}, {\"index\": 1, \"embedding\": [1, 2]}]}",
            "{\"data\": [{\"index\": 0, \"embedding\": []}, {\"index\": 1, \"embedding\": []}]}",
            "{\"data\": [{\"index\": 0, \"embedding\": \"AAAAAAAAAA==\"}, {\"index\": 1, \"embedding\": \"AAAA\"}]}",
            "{\"data\": [{\"index\": 0, \"embedding\": \"AAAAAAAAAA==\"}, {\"index\": 1, \"embedding\": \"not base64!\"}]}",
            "{\"data\": [{\"index\": 0, \"embedding\": \"AAAAAAAAAA==\"}, {\"index\": 1, \"embedding\": \"AAAAAAA=\"}]}",
            "{\"data\": [1, 2]}"})
    void untrustworthyOpenAiAnswersAreBadResponses(String answer) {
        assertThatThrownBy(() -> openAi.parse(bytes(answer), 2, null)).isInstanceOf(BadResponseException.class);
    }

    @Test
    void dimensionsAreCheckedWhenKnown() {
        assertThatThrownBy(() -> openAi.parse(bytes("{\"data\": [{\"index\": 0, \"embedding\": [1, 2]}]}"), 1, 3))
                .isInstanceOf(BadResponseException.class).hasMessageContaining("dimensions");
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "{}", "[[1, 2]]", "[[1, 2], [1]]", "[[1, 2], null]", "[[1, 2], [1, \"2\"]]",
            "[[1, 2], [1, 2], [1, 2]]", "[[1, 2], [1, 2]", "[[1, 2], [1, 1e999]]"})
    void untrustworthyTeiAnswersAreBadResponses(String answer) {
        assertThatThrownBy(() -> tei.parse(bytes(answer), 2, null)).isInstanceOf(BadResponseException.class);
    }
}
