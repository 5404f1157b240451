package dev.embedpipe.chunk;

/**
 * A piece of a document that fits the model. Character offsets are UTF-16 indexes into the cleaned document text.
 * {@code tokenIds} are the model's input ids (special tokens included) when the chunker's tokenizer is the
 * model's own, so the embedder need not tokenize again; null otherwise (and after a shuffle: see
 * {@link #withoutTokenIds()}).
 */
public record Chunk(
        String chunkId,
        String docId,
        int chunkIndex,
        String text,
        int tokenCount,
        int charStart,
        int charEnd,
        String contentHash,
        String sourceFile,
        String metadata,
        long[] tokenIds) implements java.io.Serializable {

    /** The same chunk without its token ids, which are not worth shipping across the cluster. */
    public Chunk withoutTokenIds() {
        return tokenIds == null ? this : new Chunk(chunkId, docId, chunkIndex, text, tokenCount, charStart, charEnd,
                contentHash, sourceFile, metadata, null);
    }
}
