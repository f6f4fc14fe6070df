package io.havm.engine;

import io.havm.model.MoveMode;
import io.havm.port.MigrationProgress;
import java.time.Instant;

/**
 * Where a group's live migration stands, as its source agent publishes it under
 * {@code progress/<group>} (see {@link ClusterStore#putProgress}): libvirt's job statistics of the
 * domain being migrated ({@code virDomainGetJobStats}), bytes and milliseconds.
 * {@code expectedDowntimeMs} is libvirt's {@code downtime} of the running job: the downtime QEMU
 * expects if it switched over now.
 */
public record MoveProgress(String group, String domain, String mode, String from, String to, long memoryTotalBytes,
        long memoryRemainingBytes, long dataTotalBytes, long dataProcessedBytes, long dataRemainingBytes,
        long elapsedMs, long expectedDowntimeMs, Instant updatedAt) {

    static MoveProgress of(String group, String domain, MoveMode mode, String from, String to, MigrationProgress p,
            Instant at) {
        return new MoveProgress(group, domain, mode.word, from, to, p.memTotal(), p.memRemaining(), p.dataTotal(),
                p.dataProcessed(), p.dataRemaining(), p.elapsedMs(), p.downtimeMs(), at);
    }

    /** Where the progress of the moves a {@link GroupRunner} runs goes (the agent: the cluster store). */
    public interface Sink {
        /** Where the live move of {@code p.group()} stands now. */
        void update(MoveProgress p);

        /**
         * One VM of the live move of {@code last.group()} arrived: {@code last} is its migration's
         * completed job statistics as the target has them, {@code expectedDowntimeMs} there the
         * guest's measured downtime. Called only when the target's libvirt gives them.
         */
        default void completed(MoveProgress last) { }

        /** The move of {@code group} is over, whatever its outcome: no progress of it stands any more. */
        void ended(String group);

        /** Reports nothing (the default: the simulator, tests). */
        Sink NONE = new Sink() {
            @Override
            public void update(MoveProgress p) { }

            @Override
            public void ended(String group) { }
        };
    }
}
