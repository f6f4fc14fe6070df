package io.havm.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.havm.model.Bootstrap;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The examples the Debian package ships (/usr/share/doc/havm/examples) load as they are: an
 * operator copies them first. ci/package-check also runs `havm config check` on the installed
 * cluster.yaml, with its fence agent's own metadata.
 */
class ExamplesTest {
    @Test
    void theExampleBootstrapFileLoads() {
        Bootstrap b = BootstrapLoader.load(Path.of("examples/agent.yaml"));
        assertEquals("kvm1", b.node());
        assertEquals("/havm/prod", b.root());
        assertNull(b.zookeeper(), "the connect string comes from the ensemble");
        assertEquals("10.0.0.11:2181,10.0.0.12:2181,10.0.0.13:2181", b.connectString());
        assertEquals(3, b.ensemble().members().size());
        assertEquals(Path.of("/var/lib/havm/zookeeper"), b.ensemble().dataDir(),
                "havm-zookeeper.service may write its StateDirectory only");
    }

    @Test
    void theExampleClusterLoadsWithoutWarningsAndNamesTheEnsembleOfTheBootstrapFile() {
        var loaded = ClusterConfigLoader.load(Path.of("examples/cluster.yaml"));
        assertEquals(List.of(), loaded.warnings());
        assertEquals("prod", loaded.spec().name());
        assertEquals(BootstrapLoader.load(Path.of("examples/agent.yaml")).connectString(), loaded.spec().zookeeper());
        assertEquals(3, loaded.spec().nodes().size());
    }
}
