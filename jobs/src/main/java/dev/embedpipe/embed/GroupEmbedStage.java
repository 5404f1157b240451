package dev.embedpipe.embed;

import dev.embedpipe.chunk.Chunk;
import dev.embedpipe.util.StreamingIterator;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.function.LongPredicate;

/**
 * Turns a partition's hash groups into one {@link ChunkResult} per chunk: a group the cache hit gives its chunks the
 * cached vector ({@code CACHE}); for the others one request input is sent per distinct text (the group's first chunk)
 * and the group's other chunks take the same vector (or error) as {@code REUSED}. Memory holds only the groups of
 * requests in flight. An optional token allowance stops sending once spent: the rest become {@code budget_exhausted}
 * errors that a rerun or a redrive picks up. An optional {@link UnknownTokenCheck} keeps texts the model cannot read
 * from being sent at all: they become {@code unknown_tokens} errors.
 */
public final class GroupEmbedStage extends StreamingIterator<ChunkResult> implements AutoCloseable {
    private final Map<String, List<Chunk>> followers = new HashMap<>();
    private final Deque<ChunkResult> ready = new ArrayDeque<>();
    private final EmbedStage stage;

    /**
     * @param allowance decides, given the tokens of the next chunk, whether it may still be sent (null: no cap)
     */
    public GroupEmbedStage(Iterator<HashGroup> groups, Embedder.Session session, Embedder.RequestShape shape,
                           LongPredicate allowance, java.util.function.Consumer<List<ChunkResult>> onRequestDone) {
        this(groups, session, shape, allowance, onRequestDone, Map.of(), null);
    }

    /**
     * @param paidBefore   vectors an earlier attempt of this task already paid for, by content hash
     * @param unknownCheck refuses texts made mostly of the tokenizer's unknown token (null: off)
     */
    public GroupEmbedStage(Iterator<HashGroup> groups, Embedder.Session session, Embedder.RequestShape shape,
                           LongPredicate allowance, java.util.function.Consumer<List<ChunkResult>> onRequestDone,
                           Map<String, float[]> paidBefore, UnknownTokenCheck unknownCheck) {
        Iterator<Chunk> representatives = new StreamingIterator<>() {
            @Override
            protected Chunk computeNext() {
                while (groups.hasNext()) {
                    HashGroup group = groups.next();
                    Chunk first = group.representative();
                    if (group.hit()) {
                        allFrom(group, new ChunkResult(first, group.cached(), null, ChunkResult.Origin.CACHE));
                        continue;
                    }
                    float[] paid = paidBefore.get(group.contentHash());
                    if (paid != null) { // paid for by a failed attempt of this very task: this run embedded it
                        allFrom(group, ChunkResult.embedded(first, paid));
                        continue;
                    }
                    Embedder.EmbeddingError unreadable = unknownCheck == null ? null : unknownCheck.refusal(first);
                    if (unreadable != null) {
                        allFrom(group, ChunkResult.failed(first, unreadable));
                        continue;
                    }
                    if (allowance != null && !allowance.test(first.tokenCount())) {
                        allFrom(group, ChunkResult.failed(first, new Embedder.EmbeddingError("budget_exhausted", 0, 0, null, true,
                                "not sent: the run's budget (budget.max_total_tokens / budget.max_cost) was spent")));
                        continue;
                    }
                    if (group.chunks().size() > 1) {
                        followers.put(group.contentHash(), List.copyOf(group.chunks().subList(1, group.chunks().size())));
                    }
                    return first;
                }
                return null;
            }
        };
        this.stage = new EmbedStage(representatives, session, shape, onRequestDone);
    }

    /** The representative's result, and the same outcome for the group's other chunks. */
    private void allFrom(HashGroup group, ChunkResult representative) {
        ready.add(representative);
        group.chunks().subList(1, group.chunks().size()).forEach(c -> ready.add(representative.forSameText(c)));
    }

    @Override
    protected ChunkResult computeNext() {
        while (ready.isEmpty() && stage.hasNext()) {
            ChunkResult embedded = stage.next();
            ready.add(embedded);
            List<Chunk> same = followers.remove(embedded.chunk().contentHash());
            if (same != null) {
                same.forEach(c -> ready.add(embedded.forSameText(c)));
            }
        }
        return ready.poll();
    }

    @Override
    public void close() {
        stage.close();
    }
}
