package dev.embedpipe.tokenize;

/**
 * A text's tokens. {@code ids} include the model's special tokens; {@code starts}/{@code ends} are the UTF-16
 * (Java string index) spans of the content tokens only (specials have no span), in order.
 */
public record Encoded(long[] ids, int[] starts, int[] ends) {
    public int contentTokens() {
        return starts.length;
    }
}
