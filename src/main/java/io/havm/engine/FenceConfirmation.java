package io.havm.engine;

import java.time.Instant;

/**
 * Proof that a node is off: the fence agent said so, or the self-fence deadline passed with the
 * node out of the quorum. Recovery elsewhere requires one; without it a VM could run twice.
 *
 * @param host the fenced node
 * @param method how it was fenced (e.g. "lab power-off", "fence_ipmilan off")
 * @param at when the fence was confirmed
 */
public record FenceConfirmation(String host, String method, Instant at) {}
