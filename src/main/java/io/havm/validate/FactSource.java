package io.havm.validate;

import io.havm.model.ClusterSpec;
import java.util.List;
import java.util.Map;

/**
 * Where validation's facts about hosts come from: the hosts' libvirt ({@link LibvirtFacts}), or
 * hand-made facts in tests. Every host is asked {@link Questions}; a host that does not answer in
 * time is {@link HostFacts#unreachable}, never a hang.
 */
public interface FactSource {

    Gathered gather(List<ClusterSpec.NodeSpec> nodes, Questions questions);

    /**
     * @param hosts by node name, one per node asked
     * @param baseline the CPU model every host can give a migratable guest (virConnectBaselineHypervisorCPU
     *        over the hosts' host-model CPUs), or why it could not be computed
     * @param markerWrittenBy shared directory → the host that wrote the marker there (absent: no host could)
     */
    record Gathered(Map<String, HostFacts> hosts, Probe baseline, Map<String, String> markerWrittenBy) {}
}
