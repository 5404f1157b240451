package dev.embedpipe.embed.onnx;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.embedpipe.config.ConfigException;
import dev.embedpipe.embed.VectorRecipe;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A model folder as sentence-transformers exports it, read as sentence-transformers does: {@code modules.json} lists
 * the modules in order (a Transformer, a Pooling, optionally a Normalize); the pooling module's
 * {@code config.json} says how; {@code sentence_bert_config.json} the maximum tokens;
 * {@code config_sentence_transformers.json} the prompts. The weights are {@code model.onnx} or
 * {@code onnx/model.onnx}. Anything missing, or a module or mode embedpipe does not implement (Dense, max or
 * weighted-mean pooling, a prompt excluded from pooling), is a configuration error naming it.
 */
record SentenceTransformersFolder(String modelLocation, String tokenizerLocation, int maxTokens, int dimensions,
                                  VectorRecipe recipe) {
    private static final ObjectMapper JSON = new ObjectMapper();

    static boolean is(String modelPath) {
        return !modelPath.isBlank() && Files.isDirectory(Path.of(modelPath));
    }

    static SentenceTransformersFolder read(String folder) {
        Path dir = Path.of(folder);
        Path onnx = Files.isRegularFile(dir.resolve("model.onnx")) ? dir.resolve("model.onnx") : dir.resolve("onnx/model.onnx");
        require(onnx, "model.onnx or onnx/model.onnx");
        Path tokenizer = require(dir.resolve("tokenizer.json"), "tokenizer.json");
        JsonNode modules = json(require(dir.resolve("modules.json"), "modules.json"));
        JsonNode pooling = null;
        boolean normalize = false;
        for (JsonNode module : modules) {
            String type = module.path("type").asText();
            String kind = type.substring(type.lastIndexOf('.') + 1);
            switch (kind) {
                case "Transformer" -> { }
                case "Pooling" -> pooling = json(require(dir.resolve(module.path("path").asText()).resolve("config.json"),
                        module.path("path").asText() + "/config.json"));
                case "Normalize" -> normalize = true;
                default -> throw new ConfigException("embedder.model_path: " + folder + " has a " + type
                        + " module, which embedpipe does not support (only Transformer, Pooling, Normalize)");
            }
        }
        if (pooling == null) {
            throw new ConfigException("embedder.model_path: " + folder + "/modules.json has no Pooling module");
        }
        VectorRecipe.Pooling mode = poolingMode(folder, pooling);
        JsonNode bert = json(require(dir.resolve("sentence_bert_config.json"), "sentence_bert_config.json"));
        int maxTokens = bert.path("max_seq_length").asInt(0);
        if (maxTokens <= 0) {
            throw new ConfigException("embedder.model_path: " + folder + "/sentence_bert_config.json has no max_seq_length");
        }
        String documentPrompt = "";
        String queryPrompt = "";
        Path promptsFile = dir.resolve("config_sentence_transformers.json");
        if (Files.isRegularFile(promptsFile)) {
            JsonNode st = json(promptsFile);
            JsonNode prompts = st.path("prompts");
            String defaultName = st.path("default_prompt_name").asText("");
            // sentence-transformers puts the default prompt before every text that names no other
            documentPrompt = prompts.path(defaultName.isEmpty() ? "document" : defaultName).asText(
                    prompts.path("passage").asText(""));
            queryPrompt = prompts.path("query").asText(documentPrompt);
        }
        if (!pooling.path("include_prompt").asBoolean(true) && !(documentPrompt + queryPrompt).isEmpty()) {
            throw new ConfigException("embedder.model_path: " + folder
                    + " pools without its prompt (include_prompt false), which embedpipe does not support");
        }
        int dimensions = pooling.path("word_embedding_dimension").asInt(LocalOnnxProvider.DIMENSIONS);
        return new SentenceTransformersFolder(onnx.toString(), tokenizer.toString(), maxTokens, dimensions,
                new VectorRecipe(mode, normalize, documentPrompt, queryPrompt));
    }

    private static VectorRecipe.Pooling poolingMode(String folder, JsonNode pooling) {
        VectorRecipe.Pooling mode = null;
        for (var field : (Iterable<java.util.Map.Entry<String, JsonNode>>) pooling::fields) {
            if (!field.getKey().startsWith("pooling_mode_") || !field.getValue().asBoolean(false)) {
                continue;
            }
            VectorRecipe.Pooling one = switch (field.getKey()) {
                case "pooling_mode_cls_token" -> VectorRecipe.Pooling.CLS;
                case "pooling_mode_mean_tokens" -> VectorRecipe.Pooling.MEAN;
                default -> throw new ConfigException("embedder.model_path: " + folder + " uses " + field.getKey()
                        + ", which embedpipe does not support (only pooling_mode_cls_token, pooling_mode_mean_tokens)");
            };
            if (mode != null) {
                throw new ConfigException("embedder.model_path: " + folder + " combines pooling modes, which embedpipe does not support");
            }
            mode = one;
        }
        if (mode == null) {
            throw new ConfigException("embedder.model_path: " + folder + "'s pooling config.json sets no pooling mode");
        }
        return mode;
    }

    private static Path require(Path file, String name) {
        if (!Files.isRegularFile(file)) {
            throw new ConfigException("embedder.model_path: " + file.getParent() + " has no " + name);
        }
        return file;
    }

    private static JsonNode json(Path file) {
        try {
            return JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new ConfigException("embedder.model_path: " + file + " is not valid JSON: " + e.getMessage().lines().findFirst().orElse(""));
        }
    }
}
