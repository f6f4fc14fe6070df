package io.havm.port;

import java.time.Instant;
import java.util.Map;
import java.util.Optional;

/**
 * The second channel beside the coordination service: small blocks on storage every node reaches
 * (a file per slot on a shared-dir pool, or sectors of a small iSCSI LUN), read and written with
 * a bounded time and without the page cache.
 *
 * <p>Why it exists: ZooKeeper alone cannot tell "ZooKeeper is down for everyone" (nobody can
 * recover anything, so keep every VM running) from "I am the one cut off" (the others will recover
 * my VMs, so stop them first). A cut-off agent reads here whether a coordinator elsewhere still
 * reaches ZooKeeper (vSphere's datastore heartbeating, sbd's shared disk); a coordinator writes a
 * fence request ("poison pill") into a node's message slot as a fence method for clusters without
 * a power fence agent.
 *
 * <p>Every slot has exactly one writer: a node's {@link Beat} only that node writes; a node's
 * {@link FenceRequest} only coordinators write (fenced by their epoch: a higher epoch wins). So no
 * write ever races another writer of the same block.
 */
public interface Heartbeats {

    /**
     * What a node says of itself, written every heartbeat interval.
     *
     * @param node the writer
     * @param incarnation the agent process's start time in ms: seq restarts when it changes
     * @param seq increases with every beat of this incarnation
     * @param at the writer's clock when it wrote the beat
     * @param cutOffSince null while the agent holds its ZooKeeper session and is not suspended;
     *        else since when it is cut off (its own clock)
     * @param coordinatorEpoch the epoch this node coordinates with, 0 when it is not the coordinator
     * @param coordinatorZkOkAt when the coordinator's last ZooKeeper round trip that succeeded
     *        started (its own clock): proof that ZooKeeper worked for it then; null when not coordinator
     * @param coordinatorActsOn when coordinator: the nodes it has declared lost and whose groups it
     *        will recover (a cut-off node that reads its own name here stops its HA groups); else empty
     * @param selfFenced the agent has stopped every HA group on its node and proved it
     * @param fenceAck the id of the last fence request it obeyed (0: none)
     */
    record Beat(String node, long incarnation, long seq, Instant at, Instant cutOffSince, long coordinatorEpoch,
            Instant coordinatorZkOkAt, java.util.List<String> coordinatorActsOn, boolean selfFenced, long fenceAck) {
        public Beat {
            coordinatorActsOn = coordinatorActsOn == null ? java.util.List.of() : java.util.List.copyOf(coordinatorActsOn);
        }
    }

    /**
     * A coordinator's order to a node: stop every HA group now and say so ({@link Beat#fenceAck}).
     *
     * @param id unique per request, across coordinators, epochs and clusters that ever wrote to this
     *        storage (the coordinator's clock in ms, its epoch and a counter): an acknowledgement
     *        left by an earlier request can never answer a new one
     * @param epoch the requesting coordinator's epoch
     * @param by the node the coordinator runs on
     * @param at the coordinator's clock when it asked
     * @param incarnation the agent process the request is for ({@link Beat#incarnation} as the
     *        coordinator last read it), 0 for whichever runs: an agent started after the request
     *        does not obey one meant for its predecessor (it joins and reports what runs instead)
     * @param evicted the node was declared lost while still a ZooKeeper member (its agent did not
     *        answer, or could not prove a group off): obeyed even while connected. Otherwise the
     *        node was lost with its session, and a node that is a member again does not obey it
     *        (the coordinator sees it back and terminates there what must not run)
     * @param cluster the requesting cluster's name: a node obeys only its own cluster's requests
     *        (null: any)
     */
    record FenceRequest(long id, long epoch, String by, Instant at, long incarnation, boolean evicted,
            String cluster) {}

    /** The storage did not answer in time, or answered with an error: no proof either way. */
    final class Unavailable extends Exception {
        public Unavailable(String message) {
            super(message);
        }
    }

    /** Writes this node's beat (bounded). */
    void beat(Beat b) throws Unavailable;

    /** Every node's last beat, by node; a slot never written or unreadable is absent (bounded). */
    Map<String, Beat> beats() throws Unavailable;

    /** Writes a fence request into {@code node}'s message slot (bounded). */
    void requestFence(String node, FenceRequest r) throws Unavailable;

    /** The fence request in {@code node}'s message slot, if any (bounded). */
    Optional<FenceRequest> fenceRequest(String node) throws Unavailable;

    /** Where the heartbeats live, for messages. */
    String describe();
}
