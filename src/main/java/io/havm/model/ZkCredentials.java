package io.havm.model;

/**
 * A ZooKeeper digest credential: who an agent or an operator is to the cluster's ZooKeeper.
 * Holding it means every right on the cluster's znodes; not holding it means none (see
 * {@code ZkCoordination}). Read from a root-only file ({@code io.havm.util.Secrets#zkCredentials}),
 * never from the configuration.
 *
 * <p>{@link #toString} never shows the password, so the value may be logged or put in a message
 * by mistake without leaking it.
 *
 * @param user     the digest user name: non-empty, no ':' (ZooKeeper's digest id is {@code user:hash})
 * @param password the password: non-empty
 */
public record ZkCredentials(String user, String password) {
    public ZkCredentials {
        if (user == null || user.isEmpty() || user.indexOf(':') >= 0 || !user.strip().equals(user)) {
            throw new InvalidInputException("ZooKeeper credentials", "the user name must be non-empty, without ':'"
                    + " and without surrounding spaces");
        }
        if (password == null || password.isEmpty()) {
            throw new InvalidInputException("ZooKeeper credentials of user '" + user + "'", "the password is empty");
        }
    }

    /** The user only: the password is never printed. */
    @Override
    public String toString() {
        return "ZkCredentials[user=" + user + ", password=****]";
    }
}
