package dev.embedpipe.embed;

import dev.embedpipe.chunk.Chunk;

/** A chunk with its unit-length vector. */
public record EmbeddedChunk(Chunk chunk, float[] vector) {}
