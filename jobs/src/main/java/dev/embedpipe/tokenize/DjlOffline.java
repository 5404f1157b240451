package dev.embedpipe.tokenize;

/**
 * DJL phones home (cloud metadata telemetry) and may download native builds unless told not to. Every entry point
 * that can load a DJL class calls this first, so no run of ours ever makes a network call through DJL.
 */
public final class DjlOffline {
    private DjlOffline() {}

    public static void ensure() {
        System.setProperty("ai.djl.offline", "true");
        System.setProperty("OPT_OUT_TRACKING", "true");
    }
}
