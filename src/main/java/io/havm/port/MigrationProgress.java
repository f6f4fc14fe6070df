package io.havm.port;

/** Progress of a running job (migration, save) from virDomainGetJobStats; bytes and milliseconds. */
public record MigrationProgress(long elapsedMs, long dataTotal, long dataProcessed, long dataRemaining,
        long memTotal, long memProcessed, long memRemaining, long downtimeMs) {

    public double percent() {
        return dataTotal <= 0 ? 0.0 : 100.0 * dataProcessed / dataTotal;
    }
}
