package dev.embedpipe.write;

import java.io.Serializable;

/**
 * The model columns every written row carries (and a checkpoint or a Delta table is checked against): plain data,
 * so writers never see an embedder. {@code dimensions} is 0 while unknown (a remote model before its first vector).
 */
public record ModelColumns(String provider, String model, String tokenizer, int dimensions) implements Serializable {}
