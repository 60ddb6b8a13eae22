package io.guestflow.tests;

import io.guestflow.pool.CachedBuild;
import java.nio.file.Path;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * A test fixture made on first use and then kept for the JVM's life; a
 * {@link #cached cached} one is a folder under {@link Fixtures#cacheRoot()}
 * built once per machine by {@link CachedBuild} (its own lock, an atomic
 * rename), so other test JVMs wait for it and then find it done.
 */
final class BuiltOnce<T> implements Supplier<T> {
    private final Supplier<T> make;
    private T value;

    BuiltOnce(Supplier<T> make) {
        this.make = make;
    }

    /**
     * The folder {@code folder} of the test cache (e.g. {@code resize-fixtures/v6}: its recipe version is part of
     * the name), built with {@code builder} unless {@code complete} holds for it.
     */
    static BuiltOnce<Path> cached(String folder, Predicate<Path> complete, CachedBuild.Builder builder) {
        return new BuiltOnce<>(() -> CachedBuild.ensure(Fixtures.cacheRoot().resolve(folder), complete, builder));
    }

    @Override
    public synchronized T get() {
        if (value == null) {
            value = make.get();
        }
        return value;
    }
}
