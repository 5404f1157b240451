package dev.embedpipe.read;

/** How many kept (not duplicate-rejected) documents of one file the cleaner filtered, within one partition. */
public record FilteredTally(int fileIndex, long filtered) implements ReadRecord {}
