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
 * Embeds the groups the cache missed: one request input per distinct text (the group's first chunk), and the
 * group's other chunks take the same vector (or error) as {@code reused}. Memory holds only the groups of requests
 * in flight. An optional token allowance stops sending once spent: the rest become {@code budget_exhausted} errors
 * that a rerun or a redrive picks up. An optional {@link UnknownTokenCheck} keeps texts the model cannot read from
 * being sent at all: they become {@code unknown_tokens} errors.
 */
public final class GroupEmbedStage extends StreamingIterator<GroupEmbedStage.Result> implements AutoCloseable {
    /** Where a chunk's vector came from. */
    public enum Origin { EMBEDDED, REUSED, ERROR }

    public record Result(Chunk chunk, float[] vector, Embedder.EmbeddingError error, Origin origin) {}

    private final Map<String, List<Chunk>> followers = new HashMap<>();
    private final Deque<Result> ready = new ArrayDeque<>();
    private final EmbedStage stage;

    /**
     * @param allowance decides, given the tokens of the next chunk, whether it may still be sent (null: no cap)
     */
    public GroupEmbedStage(Iterator<HashGroup> misses, Embedder.Session session, Embedder.RequestShape shape,
                           LongPredicate allowance, java.util.function.Consumer<List<EmbeddedChunk>> onRequestDone) {
        this(misses, session, shape, allowance, onRequestDone, Map.of(), null);
    }

    /**
     * @param paidBefore   vectors an earlier attempt of this task already paid for, by content hash
     * @param unknownCheck refuses texts made mostly of the tokenizer's unknown token (null: off)
     */
    public GroupEmbedStage(Iterator<HashGroup> misses, Embedder.Session session, Embedder.RequestShape shape,
                           LongPredicate allowance, java.util.function.Consumer<List<EmbeddedChunk>> onRequestDone,
                           Map<String, float[]> paidBefore, UnknownTokenCheck unknownCheck) {
        Iterator<Chunk> representatives = new StreamingIterator<>() {
            @Override
            protected Chunk computeNext() {
                while (misses.hasNext()) {
                    HashGroup group = misses.next();
                    float[] paid = paidBefore.get(group.contentHash());
                    if (paid != null) {
                        // paid for by a failed attempt of this very task: this run embedded it
                        group.chunks().forEach(c -> ready.add(new Result(c, paid, null,
                                c == group.representative() ? Origin.EMBEDDED : Origin.REUSED)));
                        continue;
                    }
                    Chunk first = group.representative();
                    List<Chunk> rest = group.chunks().subList(1, group.chunks().size());
                    Embedder.EmbeddingError unreadable = unknownCheck == null ? null : unknownCheck.refusal(first);
                    if (unreadable != null) {
                        group.chunks().forEach(c -> ready.add(new Result(c, null, unreadable, Origin.ERROR)));
                        continue;
                    }
                    if (allowance != null && !allowance.test(first.tokenCount())) {
                        Embedder.EmbeddingError over = new Embedder.EmbeddingError("budget_exhausted", 0, 0, null, true,
                                "not sent: the run's budget (budget.max_total_tokens / budget.max_cost) was spent");
                        group.chunks().forEach(c -> ready.add(new Result(c, null, over, Origin.ERROR)));
                        continue;
                    }
                    if (!rest.isEmpty()) {
                        followers.put(group.contentHash(), List.copyOf(rest));
                    }
                    return first;
                }
                return null;
            }
        };
        this.stage = new EmbedStage(representatives, session, shape, onRequestDone);
    }

    @Override
    protected Result computeNext() {
        while (ready.isEmpty() && stage.hasNext()) {
            EmbeddedChunk e = stage.next();
            Origin origin = e.failed() ? Origin.ERROR : Origin.EMBEDDED;
            ready.add(new Result(e.chunk(), e.vector(), e.error(), origin));
            List<Chunk> same = followers.remove(e.chunk().contentHash());
            if (same != null) {
                same.forEach(c -> ready.add(new Result(c, e.vector(), e.error(), e.failed() ? Origin.ERROR : Origin.REUSED)));
            }
        }
        return ready.poll();
    }

    @Override
    public void close() {
        stage.close();
    }
}
