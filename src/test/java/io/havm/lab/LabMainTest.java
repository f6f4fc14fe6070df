package io.havm.lab;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The lab's own commands refuse bad arguments with exit 2 and the allowed ones, before touching the lab. */
class LabMainTest {
    final ByteArrayOutputStream err = new ByteArrayOutputStream();

    private int run(String... args) {
        return new LabMain(Path.of("").toAbsolutePath(), new PrintStream(new ByteArrayOutputStream()),
                new PrintStream(err, true, StandardCharsets.UTF_8)).run(List.of(args));
    }

    private String err() {
        return err.toString(StandardCharsets.UTF_8);
    }

    @Test
    void badArgumentsAreRefusedWithTheAllowedOnes() {
        assertEquals(2, run("frobnicate"));
        assertTrue(err().contains("havm: 'frobnicate' is not a lab command (lab commands: demo, bench, drill)"), err());
        assertEquals(2, run("bench", "fast"));
        assertTrue(err().contains("havm bench: unknown benchmark 'fast' (benchmarks: failover, scale, migrate, drain,"
                + " agent)"), err());
        assertEquals(2, run("bench", "failover", "--runs", "0"));
        assertTrue(err().contains("--runs: '0' is not a number of runs (allowed: 1..99)"), err());
        assertEquals(2, run("demo", "--jsn", "x"));
        assertTrue(err().contains("havm demo: unknown option '--jsn' (allowed: --json, --keep"), err());
        assertEquals(2, run("demo", "--json"));
        assertTrue(err().contains("option --json needs a value"), err());
    }

    @Test
    void scaleArgumentsAreChecked() {
        assertEquals(2, run("bench", "scale", "--hosts", "1"));
        assertTrue(err().contains("--hosts: '1' is not a number within 2..100000"), err());
        assertEquals(2, run("bench", "scale", "--hosts", "4", "--groups", "10", "--on-lost", "11"));
        assertTrue(err().contains("--on-lost: '11' is not a number within 1..10"), err());
        assertEquals(2, run("bench", "scale", "--on-lost", "200"));
        assertTrue(err().contains("--on-lost: 200 groups of 2 GiB do not fit on one 256 GiB host (allowed: 1..124)"),
                err());
        assertEquals(2, run("bench", "scale", "--runs", "x"));
        assertTrue(err().contains("--runs: 'x' is not a number within 1..99"), err());
    }

    @Test
    void theMoveDrainAndAgentBenchmarksRefuseBadArgumentsBeforeTouchingTheLab() {
        assertEquals(2, run("bench"));
        assertTrue(err().contains("havm bench: a benchmark is required (benchmarks: failover, scale, migrate, drain,"
                + " agent)"), err());
        assertEquals(2, run("bench", "migrate"));
        assertTrue(err().contains("havm bench migrate: option --mode is required (usage: havm bench migrate --mode"
                + " live|quick [--pairs N] [--json FILE])"), err());
        assertEquals(2, run("bench", "migrate", "--mode", "offline"));
        assertTrue(err().contains("--mode: 'offline' is not a move with a raw libvirt counterpart (allowed: live,"
                + " quick)"), err());
        assertEquals(2, run("bench", "migrate", "--mode", "live", "--pairs", "0"));
        assertTrue(err().contains("--pairs: '0' is not a number of pairs (allowed: 1..99)"), err());
        assertEquals(2, run("bench", "migrate", "--mode", "live", "--runs", "3"));
        assertTrue(err().contains("havm bench migrate: unknown option '--runs' (allowed: --json, --mode, --pairs"), err());
        assertEquals(2, run("bench", "drain", "--vms", "13"));
        assertTrue(err().contains("--vms: '13' is not a number of VMs (allowed: 1..12)"), err());
        assertEquals(2, run("bench", "drain", "--migrations-per-host", "x"));
        assertTrue(err().contains("--migrations-per-host: 'x' is not a number of concurrent migrations (allowed:"
                + " 1..16)"), err());
        assertEquals(2, run("bench", "drain", "extra"));
        assertTrue(err().contains("havm bench drain: expected 0 argument(s), got 1"), err());
        assertEquals(2, run("bench", "agent", "--vms", "-5"));
        assertTrue(err().contains("--vms: '-5' is not a number of simulated VMs (allowed: 1..5000)"), err());
        assertEquals(2, run("bench", "agent", "--lab-vms", "4"));
        assertTrue(err().contains("--lab-vms: '4' is not a number of lab guests (allowed: 0..3)"), err());
        assertEquals(2, run("bench", "agent", "--seconds", "5"));
        assertTrue(err().contains("--seconds: '5' is not a number of seconds (allowed: 10..3600)"), err());
        assertEquals(2, run("bench", "agent", "--json"));
        assertTrue(err().contains("havm bench agent: option --json needs a value"), err());
    }
}
