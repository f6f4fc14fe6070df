package io.havm.port;

/**
 * Live migration options.
 *
 * @param unsafeSharedStorage pass VIR_MIGRATE_UNSAFE: only when configuration says the storage is a
 *        shared filesystem libvirt cannot recognise as shared (e.g. one local path in a lab)
 * @param bandwidthMiBs 0 = unlimited
 * @param maxDowntimeMs 0 = libvirt default
 */
public record MigrationOptions(boolean unsafeSharedStorage, long bandwidthMiBs, long maxDowntimeMs) {
    public static MigrationOptions defaults() {
        return new MigrationOptions(false, 0, 0);
    }
}
