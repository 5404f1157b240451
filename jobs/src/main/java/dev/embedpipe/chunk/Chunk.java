package dev.embedpipe.chunk;

/**
 * A piece of a document that fits the model. Character offsets are UTF-16 indexes into the cleaned document text.
 * {@code tokenIds} are the model's input ids (special tokens included) when the chunker's tokenizer is the
 * model's own, so the embedder need not tokenize again; null otherwise (and after a shuffle: see
 * {@link #withoutTokenIds()}). {@code unknownTokens}: how many of its tokens are the tokenizer's unknown token
 * (counted by the chunker, kept across a shuffle), or -1 when not counted (a chunk read back from {@code errors/}).
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
        long[] tokenIds,
        int unknownTokens) implements java.io.Serializable {

    /** A chunk whose unknown tokens are not counted. */
    public Chunk(String chunkId, String docId, int chunkIndex, String text, int tokenCount, int charStart, int charEnd,
                 String contentHash, String sourceFile, String metadata, long[] tokenIds) {
        this(chunkId, docId, chunkIndex, text, tokenCount, charStart, charEnd, contentHash, sourceFile, metadata, tokenIds, -1);
    }

    /** The same chunk without its token ids, which are not worth shipping across the cluster. */
    public Chunk withoutTokenIds() {
        return tokenIds == null ? this : new Chunk(chunkId, docId, chunkIndex, text, tokenCount, charStart, charEnd,
                contentHash, sourceFile, metadata, null, unknownTokens);
    }
}
