package io.havm.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.havm.port.Clock;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** A live migration's downtime, as libvirt measured it at the switch-over, is in the downtime histogram. */
class HavmMetricsLiveDowntimeTest {
    @Test
    void eachLiveVmsMeasuredDowntimeIsObservedUnderModeLive() {
        HavmMetrics m = new HavmMetrics("host1", "test", Clock.SYSTEM);
        m.migrated("web", "web-vm", Duration.ofMillis(48));
        m.migrated("db", "db-vm", Duration.ofMillis(212));
        Scrape s = Scrape.of(m.registry().scrape());
        assertEquals(2, s.sum("havm_migration_downtime_seconds_count", "mode", "live", "result", "ok"), s.text());
        assertEquals(0.26, s.sum("havm_migration_downtime_seconds_sum", "mode", "live", "result", "ok"), 1e-9);
        // 48 ms lands in the 50 ms bucket, 212 ms only from 250 ms on
        assertEquals(1, s.sum("havm_migration_downtime_seconds_bucket", "mode", "live", "le", "0.05"), s.text());
        assertEquals(2, s.sum("havm_migration_downtime_seconds_bucket", "mode", "live", "le", "0.25"));
        assertEquals(0, s.sum("havm_migration_duration_seconds_count"), "a move's duration comes from its command");
    }
}
