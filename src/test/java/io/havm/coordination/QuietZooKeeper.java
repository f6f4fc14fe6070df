package io.havm.coordination;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.slf4j.LoggerFactory;

/**
 * Silences ZooKeeper's own logging for a test class, then restores it. Why: these tests stop
 * servers and peers on purpose, and ZooKeeper reports every such stop with WARN/ERROR stack traces
 * that would bury real failures. The tests assert the outcome through clients instead. Curator's
 * and havm's own logs stay as they are.
 */
public final class QuietZooKeeper implements BeforeAllCallback, AfterAllCallback {
    private static final Map<String, Level> QUIET = Map.of(
            "org.apache.zookeeper", Level.ERROR,
            "org.apache.zookeeper.server", Level.OFF);
    private final Map<String, Level> saved = new HashMap<>();

    @Override
    public void beforeAll(ExtensionContext context) {
        QUIET.forEach((name, level) -> {
            Logger l = (Logger) LoggerFactory.getLogger(name);
            saved.put(name, l.getLevel());
            l.setLevel(level);
        });
    }

    @Override
    public void afterAll(ExtensionContext context) {
        saved.forEach((name, level) -> ((Logger) LoggerFactory.getLogger(name)).setLevel(level));
        saved.clear();
    }
}
