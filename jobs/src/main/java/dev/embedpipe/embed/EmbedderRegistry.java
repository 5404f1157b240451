package dev.embedpipe.embed;

import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.TreeMap;

/** Providers by name, from {@code META-INF/services/dev.embedpipe.embed.EmbedderProvider}. */
public final class EmbedderRegistry {
    private static final Map<String, EmbedderProvider> BY_NAME = load();

    private EmbedderRegistry() {}

    /** The provider with this name, or null. */
    public static EmbedderProvider find(String name) {
        return BY_NAME.get(name);
    }

    public static EmbedderProvider get(String name) {
        EmbedderProvider provider = BY_NAME.get(name);
        if (provider == null) {
            throw new IllegalArgumentException("unknown embedder provider " + name + ", known: " + names());
        }
        return provider;
    }

    public static List<String> names() {
        return List.copyOf(BY_NAME.keySet());
    }

    private static Map<String, EmbedderProvider> load() {
        Map<String, EmbedderProvider> byName = new TreeMap<>();
        for (EmbedderProvider provider : ServiceLoader.load(EmbedderProvider.class, EmbedderRegistry.class.getClassLoader())) {
            byName.put(provider.name(), provider);
        }
        return byName;
    }
}
