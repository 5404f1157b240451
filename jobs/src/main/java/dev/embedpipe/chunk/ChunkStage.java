package dev.embedpipe.chunk;

import dev.embedpipe.read.Document;
import dev.embedpipe.util.StreamingIterator;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Iterator;

/** Chunks a stream of documents lazily: at most one document's chunks are held at a time. */
public final class ChunkStage extends StreamingIterator<Chunk> {
    private final Iterator<Document> documents;
    private final Chunker chunker;
    private final Deque<Chunk> pending = new ArrayDeque<>();

    public ChunkStage(Iterator<Document> documents, Chunker chunker) {
        this.documents = documents;
        this.chunker = chunker;
    }

    @Override
    protected Chunk computeNext() {
        while (pending.isEmpty() && documents.hasNext()) {
            pending.addAll(chunker.chunk(documents.next()));
        }
        return pending.poll();
    }
}
