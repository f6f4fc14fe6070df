package io.havm.coordination;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.function.Consumer;
import org.apache.curator.framework.listen.UnaryListenerManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Curator listener manager that calls listeners in the order they were added.
 *
 * <p>Why: Curator's standard manager keeps connection-state listeners in a ConcurrentHashMap, so
 * on SUSPENDED the LeaderLatch's own listener may run before ours, and the engine would hear
 * revoked() before the SUSPENDED that caused it. ZkCoordination registers its listener before any
 * recipe's, so with this manager it always runs first for each state change.
 */
final class OrderedListeners<T> implements UnaryListenerManager<T> {
    private static final Logger LOG = LoggerFactory.getLogger(OrderedListeners.class);

    private record Entry<T>(T listener, Executor executor) {}

    private final List<Entry<T>> entries = new CopyOnWriteArrayList<>();

    @Override
    public void addListener(T listener) {
        addListener(listener, Runnable::run);
    }

    @Override
    public void addListener(T listener, Executor executor) {
        entries.add(new Entry<>(listener, executor));
    }

    @Override
    public void removeListener(T listener) {
        entries.removeIf(e -> e.listener().equals(listener));
    }

    @Override
    public void clear() {
        entries.clear();
    }

    @Override
    public int size() {
        return entries.size();
    }

    @Override
    public void forEach(Consumer<T> function) {
        for (Entry<T> e : entries) {
            e.executor().execute(() -> {
                try {
                    function.accept(e.listener());
                } catch (RuntimeException ex) {
                    LOG.error("connection state listener {} failed", e.listener(), ex);
                }
            });
        }
    }
}
