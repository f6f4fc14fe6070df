package io.havm.port;

import io.havm.model.AgentFailureAction;
import io.havm.model.InvalidInputException;
import io.havm.model.OfflineAction;
import java.nio.file.Path;
import java.time.Duration;

/**
 * Properties of a VM resource (after Microsoft's Havm.vbs), defaults filled.
 *
 * @param domain libvirt domain name
 * @param definitionXml the persistent domain XML havm defines on a node before Online there
 * @param stateDir directory on shared storage for save-state files (offline action save, quick moves)
 * @param useAgentIsAlive IsAlive pings the guest agent, once the guest has ever answered
 * @param agentFailureAction what Terminate does after the guest agent stopped answering
 * @param offlineAction what Offline does
 * @param onlineTimeout budget of Online
 * @param offlineTimeout budget of Offline (and of a graceful shutdown)
 * @param agentTimeout budget of one guest-agent ping
 */
public record VmProperties(String domain, String definitionXml, Path stateDir, boolean useAgentIsAlive,
        AgentFailureAction agentFailureAction, OfflineAction offlineAction, Duration onlineTimeout,
        Duration offlineTimeout, Duration agentTimeout) {

    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(300);

    public VmProperties {
        if (domain == null || !domain.matches("[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")) {
            throw new InvalidInputException("domain", "'" + domain
                    + "' is not a valid domain name (letters, digits, '_', '.', '-'; 1-64 characters)");
        }
        if (stateDir == null) {
            throw new InvalidInputException("stateDir", "is required: a directory on shared storage");
        }
        requirePositive("onlineTimeout", onlineTimeout);
        requirePositive("offlineTimeout", offlineTimeout);
        requirePositive("agentTimeout", agentTimeout);
    }

    private static void requirePositive(String field, Duration d) {
        if (d == null || d.isNegative() || d.isZero()) {
            throw new InvalidInputException(field, "must be a positive duration, got " + d);
        }
    }

    /** The defaults of the seed: agent IsAlive on, turn-off on agent failure, save offline, 300 s timeouts. */
    public static VmProperties defaults(String domain, String definitionXml, Path stateDir) {
        return new VmProperties(domain, definitionXml, stateDir, true, AgentFailureAction.TURN_OFF,
                OfflineAction.SAVE, DEFAULT_TIMEOUT, DEFAULT_TIMEOUT, Duration.ofSeconds(5));
    }

    public VmProperties withOfflineAction(OfflineAction a) {
        return new VmProperties(domain, definitionXml, stateDir, useAgentIsAlive, agentFailureAction, a,
                onlineTimeout, offlineTimeout, agentTimeout);
    }

    public VmProperties withAgentFailureAction(AgentFailureAction a) {
        return new VmProperties(domain, definitionXml, stateDir, useAgentIsAlive, a, offlineAction,
                onlineTimeout, offlineTimeout, agentTimeout);
    }

    public VmProperties withTimeouts(Duration online, Duration offline) {
        return new VmProperties(domain, definitionXml, stateDir, useAgentIsAlive, agentFailureAction,
                offlineAction, online, offline, agentTimeout);
    }

    /** Where Offline (save) and quick moves keep this VM's memory state: on shared storage. */
    public Path stateFile() {
        return stateDir.resolve(domain + ".sav");
    }
}
