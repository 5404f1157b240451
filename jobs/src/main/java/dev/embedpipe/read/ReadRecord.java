package dev.embedpipe.read;

import java.io.Serializable;

/** What the read stage emits per line (a document or a reject) and per split (a tally of its lines). */
public sealed interface ReadRecord extends Serializable
        permits Document, Reject, SplitTally, FilteredTally {}
