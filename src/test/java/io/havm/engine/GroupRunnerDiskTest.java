package io.havm.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import io.havm.config.ClusterConfigLoader;
import io.havm.model.ClusterSpec;
import io.havm.model.Result;
import io.havm.resource.DiskResource;
import io.havm.storage.Volumes;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A resource of type disk runs as a DiskResource on its node: a group whose disk is missing does not come online. */
class GroupRunnerDiskTest {
    @TempDir
    Path dir;

    @Test
    void aDiskResourceBringsItsGroupOnlineOnlyWhereTheDiskIs() throws Exception {
        ClusterSpec spec = ClusterConfigLoader.parse("c.yaml", """
                cluster:
                  nodes:
                    - {name: host1, uri: qemu+tcp://10.77.0.11/system}
                storage:
                  pools:
                    shared: {type: shared-dir, path: POOL}
                  disks:
                    web-os: {pool: shared, size: 1M}
                groups:
                  web:
                    resources:
                      os: {type: disk, disk: web-os, pendingTimeout: 10s}
                """.replace("POOL", dir.toString())).spec();
        GroupRunner runner = new GroupRunner(spec, "host1", Map.of(), new ManualClock(),
                TestPorts.resources(spec, "host1", null, new ManualClock()));
        assertInstanceOf(DiskResource.class, runner.resource("web", "os"));
        assertEquals(new Result.Failed("os: failed: host1: disk web-os (pool shared): volume "
                + dir.resolve("web-os.qcow2") + " does not exist (havm storage create makes it)"),
                runner.online("web"));
        Volumes.create(spec.storage(), spec.storage().disk("web-os").orElseThrow());
        assertEquals(new Result.Ok("web online on host1"), runner.online("web"));
        Files.delete(dir.resolve("web-os.qcow2"));
        assertInstanceOf(Result.Failed.class, runner.resource("web", "os").looksAlive());
    }
}
