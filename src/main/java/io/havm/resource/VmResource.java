package io.havm.resource;

import io.havm.port.Clock;
import io.havm.port.DomainState;
import io.havm.port.Hypervisor;
import io.havm.port.HypervisorException;
import io.havm.port.Resource;
import io.havm.port.Storage;
import io.havm.port.VmProperties;
import io.havm.model.AgentFailureAction;
import io.havm.model.Result;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

/**
 * A VM as a cluster resource on one node, after Microsoft's Havm.vbs generic script.
 *
 * <ul>
 *   <li>Online: define the domain here if needed; restore the saved state from shared storage if
 *       the last Offline saved it, else start; wait until libvirt says running. A VM already
 *       running here is {@link Result.AlreadyRunning}, and (as in the seed) the Terminate that
 *       follows saves its state instead of pulling the plug. A disk lease held elsewhere is
 *       {@link Result.WrongNode}.</li>
 *   <li>LooksAlive: libvirt's domain state. IsAlive: the same, plus a guest-agent ping once the
 *       guest has ever answered one (a guest without an agent is never declared dead by it).</li>
 *   <li>Offline: the offline action. Terminate: turn off, or save (see above, and
 *       {@link AgentFailureAction#SAVE}).</li>
 * </ul>
 * A libvirtd that does not answer is {@link Result.RetryLater}, never a VM failure: a libvirtd
 * restart must not fail over VMs that keep running.
 */
public final class VmResource implements Resource {
    private static final String PING = "{\"execute\":\"guest-ping\"}";

    private final VmProperties p;
    private final Hypervisor hv;
    private final Clock clock;
    private final Storage storage;

    private boolean foundRunningAtOnline;
    private boolean agentEverAnswered;
    private boolean agentFailed;

    public VmResource(VmProperties properties, Hypervisor hypervisor, Clock clock, Storage storage) {
        this.storage = storage;
        this.p = properties;
        this.hv = hypervisor;
        this.clock = clock;
    }

    @Override
    public String name() {
        return p.domain();
    }

    public VmProperties properties() {
        return p;
    }

    private String where() {
        return "domain " + p.domain() + " on " + hv.host();
    }

    @Override
    public Result open() {
        return guard(() -> {
            hv.ping();
            return new Result.Ok(hv.host() + " reachable at " + hv.uri());
        });
    }

    @Override
    public Result online() {
        return guard(() -> {
            Optional<DomainState> s = hv.state(p.domain());
            if (s.isPresent() && s.get().active()) {
                foundRunningAtOnline = true;
                return new Result.AlreadyRunning(where() + " is already " + s.get());
            }
            foundRunningAtOnline = false;
            agentFailed = false;
            agentEverAnswered = false;
            boolean saved;
            try {
                saved = storage.exists(p.stateFile());
            } catch (IOException e) {
                // a cold boot here could throw away a saved memory state: let another node try
                return new Result.Failed(where() + ": cannot tell whether " + p.stateFile() + " holds a saved state: "
                        + e.getMessage());
            }
            boolean definedHere = false;
            if (s.isEmpty()) {
                if (p.definitionXml() == null) {
                    return new Result.Failed(where() + ": not defined here and no definition to define it from");
                }
                hv.define(p.definitionXml());
                definedHere = true;
            }
            String how;
            try {
                if (saved) {
                    hv.restore(p.stateFile());
                    deleteStateFile();
                    how = "restored from " + p.stateFile();
                } else {
                    hv.start(p.domain());
                    how = "started";
                }
            } catch (HypervisorException e) {
                if (definedHere) {
                    forgetQuietly(e); // a refused Online leaves no stray definition behind
                }
                throw e;
            }
            return waitUntil(p.onlineTimeout(), DomainState.Kind.RUNNING, how);
        });
    }

    private Result waitUntil(Duration budget, DomainState.Kind wanted, String how) {
        Instant deadline = clock.now().plus(budget);
        while (true) {
            Optional<DomainState> s = hv.state(p.domain());
            if (s.isPresent() && s.get().kind() == wanted) {
                return new Result.Ok(where() + " " + how + ", " + s.get());
            }
            if (!clock.now().isBefore(deadline)) {
                return new Result.Timeout(where() + " " + how + " but is " + s.map(Object::toString).orElse("gone")
                        + " after " + budget.toSeconds() + " s", budget);
            }
            try {
                clock.pause(Duration.ofMillis(100));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return new Result.Timeout(where() + ": interrupted", budget);
            }
        }
    }

    @Override
    public Result looksAlive() {
        return guard(() -> {
            Optional<DomainState> s = hv.state(p.domain());
            if (s.isEmpty()) {
                return new Result.Failed(where() + ": no such domain");
            }
            DomainState st = s.get();
            return switch (st.kind()) {
                case RUNNING, BLOCKED -> new Result.Ok(where() + " " + st);
                case PAUSED -> switch (st.reason()) {
                    // Paused by the hypervisor because the guest cannot go on: a fault.
                    case "ioerror", "crashed", "api-error", "postcopy-failed", "watchdog" ->
                        new Result.Failed(where() + " " + st);
                    default -> new Result.Ok(where() + " " + st);
                };
                case SHUTDOWN -> new Result.Ok(where() + " " + st);
                default -> new Result.Failed(where() + " is " + st);
            };
        });
    }

    @Override
    public Result isAlive() {
        Result shallow = looksAlive();
        if (!shallow.ok() || !p.useAgentIsAlive()) {
            return shallow;
        }
        try {
            hv.agentCommand(p.domain(), PING, p.agentTimeout());
            agentEverAnswered = true;
            agentFailed = false;
            return new Result.Ok(where() + ": guest agent answered");
        } catch (HypervisorException e) {
            if (e.kind() == HypervisorException.Kind.HOST_UNREACHABLE) {
                return new Result.RetryLater(e.getMessage());
            }
            if (!agentEverAnswered) {
                return new Result.Ok(where() + ": guest agent has not answered yet; heartbeat not armed ("
                        + e.getMessage() + ")");
            }
            agentFailed = true;
            return new Result.Failed(where() + ": guest agent stopped answering: " + e.getMessage());
        }
    }

    @Override
    public Result offline() {
        return guard(() -> {
            Optional<DomainState> s = hv.state(p.domain());
            if (s.isEmpty() || !s.get().active()) {
                return new Result.Ok(where() + " already off");
            }
            switch (p.offlineAction()) {
                case SAVE -> {
                    saveState();
                    return new Result.Ok(where() + " saved to " + p.stateFile());
                }
                case SHUTDOWN -> {
                    hv.shutdown(p.domain(), p.offlineTimeout());
                    return new Result.Ok(where() + " shut down");
                }
                case FORCED_SHUTDOWN -> {
                    try {
                        hv.shutdown(p.domain(), p.offlineTimeout());
                        return new Result.Ok(where() + " shut down");
                    } catch (HypervisorException e) {
                        if (e.kind() != HypervisorException.Kind.TIMEOUT
                                && e.kind() != HypervisorException.Kind.AGENT_UNRESPONSIVE) {
                            throw e;
                        }
                        hv.destroy(p.domain());
                        return new Result.Ok(where() + " turned off after graceful shutdown failed: "
                                + e.getMessage());
                    }
                }
                case TURN_OFF -> {
                    hv.destroy(p.domain());
                    return new Result.Ok(where() + " turned off");
                }
                default -> throw new IllegalStateException(p.offlineAction().toString());
            }
        });
    }

    @Override
    public Result terminate() {
        return guard(() -> {
            Optional<DomainState> s = hv.state(p.domain());
            if (s.isEmpty() || !s.get().active()) {
                return new Result.Ok(where() + " already off");
            }
            if (foundRunningAtOnline) {
                saveState();
                foundRunningAtOnline = false;
                return new Result.Ok(where() + " was found running at Online: state saved to " + p.stateFile());
            }
            if (agentFailed && p.agentFailureAction() == AgentFailureAction.SAVE) {
                saveState();
                return new Result.Ok(where() + " guest agent failed: state saved to " + p.stateFile());
            }
            hv.destroy(p.domain());
            return new Result.Ok(where() + " turned off");
        });
    }

    @Override
    public Result close() {
        return new Result.Ok(where() + " closed");
    }

    private void forgetQuietly(HypervisorException cause) {
        try {
            hv.undefine(p.domain());
        } catch (HypervisorException e) {
            cause.addSuppressed(e);
        }
    }

    private void saveState() {
        try {
            storage.createDirectories(p.stateDir());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create state directory " + p.stateDir(), e);
        }
        hv.save(p.domain(), p.stateFile());
    }

    private void deleteStateFile() {
        try {
            storage.deleteIfExists(p.stateFile());
        } catch (IOException e) {
            // A stale save file would bring back old memory state at the next Online: refuse to go on silently.
            throw new UncheckedIOException("restored " + p.domain() + " but cannot delete " + p.stateFile(), e);
        }
    }

    /** Runs an entry point body: expected failures become results, never exceptions. */
    private static Result guard(java.util.function.Supplier<Result> body) {
        try {
            return body.get();
        } catch (HypervisorException e) {
            return fromException(e);
        } catch (UncheckedIOException e) {
            return new Result.Failed(e.getMessage() + ": " + e.getCause().getMessage());
        }
    }

    /** Result for a classified hypervisor failure. */
    static Result fromException(HypervisorException e) {
        return switch (e.kind()) {
            case HOST_UNREACHABLE -> new Result.RetryLater(e.getMessage());
            case LEASE_REFUSED -> new Result.WrongNode(e.getMessage());
            case TIMEOUT -> new Result.Timeout(e.getMessage(), Duration.ZERO);
            default -> new Result.Failed(e.getMessage());
        };
    }
}
