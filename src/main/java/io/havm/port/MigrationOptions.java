package io.havm.port;

/**
 * Live migration options.
 *
 * @param unsafeSharedStorage pass VIR_MIGRATE_UNSAFE: only when configuration says the storage is a
 *        shared filesystem libvirt cannot recognise as shared (e.g. one local path in a lab)
 * @param bandwidthMiBs 0 = unlimited
 * @param maxDowntimeMs 0 = libvirt default
 * @param tls pass VIR_MIGRATE_TLS: the migration stream goes over QEMU's native TLS, with the
 *        certificates in the hosts' qemu.conf {@code migrate_tls_x509_cert_dir}
 */
public record MigrationOptions(boolean unsafeSharedStorage, long bandwidthMiBs, long maxDowntimeMs, boolean tls) {
    /** Without TLS for the migration stream. */
    public MigrationOptions(boolean unsafeSharedStorage, long bandwidthMiBs, long maxDowntimeMs) {
        this(unsafeSharedStorage, bandwidthMiBs, maxDowntimeMs, false);
    }

    public static MigrationOptions defaults() {
        return new MigrationOptions(false, 0, 0);
    }

    /** The same options with the migration stream over TLS or not. */
    public MigrationOptions withTls(boolean on) {
        return new MigrationOptions(unsafeSharedStorage, bandwidthMiBs, maxDowntimeMs, on);
    }
}
