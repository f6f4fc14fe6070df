package org.apache.zookeeper;

/**
 * Test-only. A ZooKeeper client loses its session the way a node that vanished does: the socket
 * goes, the session stays on the server until the server expires it.
 *
 * <p>It lives in ZooKeeper's package because it needs the client's package-private internals.
 * ZooKeeper's own hook, {@code getTestable().injectSessionExpiration()}, is not good enough here.
 * It queues the Expired event <em>before</em> it marks the connection closed. Curator reacts to
 * that event by closing the old handle. If Curator gets there first, it sees a live connection and
 * sends a real closeSession: the server then ends the session at once and deletes its ephemeral
 * znodes. A test that needs the old session to linger then fails now and then.
 *
 * <p>This helper goes through the client's own path for a session it gave up on. The connection is
 * marked closed first. Then the send thread leaves its loop, drops the socket and only then queues
 * Expired. Any later {@code close()} of that handle therefore sends nothing.
 */
public final class ClientSessionLoss {
    private ClientSessionLoss() {}

    public static void loseSessionWithoutClosingIt(ZooKeeper handle) {
        handle.cnxn.sendThread.close();
    }
}
