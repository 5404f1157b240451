package dev.embedpipe.tokenize;

/**
 * A text's tokens. {@code ids} include the model's special tokens; {@code starts}/{@code ends} are the UTF-16
 * (Java string index) spans of the content tokens only (specials have no span), in order. {@code leading} special
 * tokens come before the content and the rest after it. {@code sliceable}: the tokenizer splits words at whitespace
 * and puts its specials only around the content, so a piece of the text cut at whitespace tokenizes exactly as the
 * slice of these tokens ({@link #ids(int, int)}).
 */
public record Encoded(long[] ids, int[] starts, int[] ends, int leading, boolean sliceable) {
    public int contentTokens() {
        return starts.length;
    }

    /** The model's input ids for the content tokens [from, to), with the same special tokens around them. */
    public long[] ids(int from, int to) {
        int trailing = ids.length - leading - starts.length;
        long[] slice = new long[leading + (to - from) + trailing];
        System.arraycopy(ids, 0, slice, 0, leading);
        System.arraycopy(ids, leading + from, slice, leading, to - from);
        System.arraycopy(ids, ids.length - trailing, slice, slice.length - trailing, trailing);
        return slice;
    }

    /**
     * Whether [from, to) of the content tokens can be taken as they are: each end is the text's end or a cut at
     * whitespace between two tokens. Anything else (a cut inside a word, or at a character the tokenizer drops)
     * must be tokenized again.
     */
    public boolean sliceable(String text, int from, int to) {
        return sliceable && cleanCut(text, from) && cleanCut(text, to);
    }

    private boolean cleanCut(String text, int k) {
        if (k == 0 || k == starts.length) {
            return true;
        }
        if (starts[k] <= ends[k - 1]) {
            return false;
        }
        char c = text.charAt(ends[k - 1]);
        return c == ' ' || c == '\n' || c == '\t' || c == '\r';
    }
}
