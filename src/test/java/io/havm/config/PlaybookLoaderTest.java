package io.havm.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.havm.model.InvalidInputException;
import io.havm.model.Playbook;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bad playbooks: each refused with file:line: field: problem (allowed: ...), nothing run. */
class PlaybookLoaderTest {
    private static final String HEAD = "name: t\ndescription: a test\ngroups:\n  web: {on: host1}\nsteps:\n";

    private static String refused(String text) {
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> PlaybookLoader.parse("p.yaml", text));
        return e.getMessage();
    }

    @Test
    void aGoodPlaybookReadsWithLabelsAndLines() {
        Playbook p = PlaybookLoader.parse("p.yaml", HEAD
                + "  - fault: power-loss\n    host: host1\n"
                + "  - wait: web\n    notOn: host1\n    within: 60s\n"
                + "  - check: recovery\n    group: web\n    within: 10s\n"
                + "  - operation: move\n    group: web\n    to: host1\n    mode: quick\n"
                + "  - fault: power-loss\n    host: {ownerOf: web}\n    label: pull the plug again\n");
        assertEquals(5, p.steps().size());
        assertEquals("power-loss host1", p.steps().get(0).label());
        assertEquals(6, p.steps().get(0).line());
        assertEquals("web online not on host1 within 60 s", p.steps().get(1).label());
        assertEquals("web recovered within 10 s of the last fault", p.steps().get(2).label());
        assertEquals("move web to host1 (quick)", p.steps().get(3).label());
        assertEquals("pull the plug again", p.steps().get(4).label());
        assertEquals("web", ((Playbook.Fault) p.steps().get(4)).host().ownerOf());
    }

    @Test
    void everyBadFieldIsNamedWithItsLineAndWhatIsAllowed() {
        assertEquals("p.yaml:6: steps[1].fault: 'power-cut' is not allowed (allowed: power-loss, power-on, isolate,"
                + " heal, libvirtd-restart, qemu-kill, guest-crash, guest-agent-stop, agent-pause, agent-resume,"
                + " agent-kill, agent-start, zookeeper-stop, zookeeper-start, zookeeper-pause, zookeeper-resume,"
                + " zookeeper-restart, fence-fails, lun-remove, lun-restore, storage-cut, storage-restore)",
                refused(HEAD + "  - fault: power-cut\n    host: host1\n"));
        assertEquals("p.yaml:6: steps[1].host: is required: a host name, {ownerOf: GROUP}, {coordinator: true} or"
                + " {lastFaulted: true}", refused(HEAD + "  - fault: power-loss\n"));
        assertEquals("p.yaml:7: steps[1].host.coordinator: must be true (a host name, {ownerOf: GROUP},"
                + " {coordinator: true} or {lastFaulted: true})",
                refused(HEAD + "  - fault: power-loss\n    host: {coordinator: false}\n"));
        assertEquals("p.yaml:7: steps[1].host: needs exactly one of ownerOf, coordinator, lastFaulted (a host name,"
                + " {ownerOf: GROUP}, {coordinator: true} or {lastFaulted: true})",
                refused(HEAD + "  - fault: power-loss\n    host: {coordinator: true, ownerOf: web}\n"));
        assertEquals("p.yaml:8: steps[1].to.lastfaulted: unknown field: did you mean 'lastFaulted'? (allowed: coordinator, lastFaulted, ownerOf)",
                refused(HEAD + "  - operation: move\n    group: web\n    to: {lastfaulted: true}\n"));
        assertEquals("p.yaml:7: steps[1].group: unknown group 'db' (groups: web)",
                refused(HEAD + "  - check: ran-once\n    group: db\n"));
        assertEquals("p.yaml:6: steps[1].within: is required (a duration, e.g. 30s)",
                refused(HEAD + "  - wait: web\n"));
        assertEquals("p.yaml:7: steps[1].within: 'soon' is not a duration (a number with ms, s, m or h, e.g. 3s)",
                refused(HEAD + "  - wait: web\n    within: soon\n"));
        assertEquals("p.yaml:7: steps[1].within: '2h' is out of range (allowed: 1ms..30m)",
                refused(HEAD + "  - wait: web\n    within: 2h\n"));
        assertEquals("p.yaml:7: steps[1].phase: 'up' is not allowed (allowed: offline, pending, starting, online,"
                + " restarting, failing, moving, stopping, awaiting-fence, failed)",
                refused(HEAD + "  - wait: web\n    phase: up\n    within: 5s\n"));
        assertEquals("p.yaml:6: steps[1]: names fault and check: a step is exactly one of check, fault, operation,"
                + " pause, wait", refused(HEAD + "  - fault: power-loss\n    check: ran-once\n"));
        assertEquals("p.yaml:6: steps[1]: names no step kind: a step is exactly one of check, fault, operation,"
                + " pause, wait", refused(HEAD + "  - label: x\n"));
        assertEquals("p.yaml:8: steps[1].count: not used by 'power-loss'",
                refused(HEAD + "  - fault: power-loss\n    host: host1\n    count: 3\n"));
        assertEquals("p.yaml:7: steps[1].colour: unknown field (allowed: count, disk, fault, group, host, label)",
                refused(HEAD + "  - fault: power-loss\n    colour: red\n"));
        assertEquals("p.yaml:8: steps[1].mode: 'teleport' is not allowed (allowed: live, quick, offline)",
                refused(HEAD + "  - operation: move\n    group: web\n    mode: teleport\n    to: host2\n"));
        assertEquals("p.yaml:4: groups.web.antiAffinity.hard: 'maybe' is not allowed (allowed: true, false)",
                refused("name: p\ndescription: d\ngroups:\n  web: {antiAffinity: {class: gc, hard: maybe}}\nsteps:\n"
                        + "  - check: ran-once\n    group: web\n"));
        assertEquals("p.yaml:4: groups.web.antiAffinity.class: is required",
                refused("name: p\ndescription: d\ngroups:\n  web: {antiAffinity: {hard: true}}\nsteps:\n"
                        + "  - check: ran-once\n    group: web\n"));
        assertEquals("p.yaml:7: steps[1].host.ownerOf: unknown group 'db' (groups: web)",
                refused(HEAD + "  - fault: isolate\n    host: {ownerOf: db}\n"));
        assertEquals("p.yaml:7: steps[1].count: 0 is out of range (allowed: 1..100)",
                refused(HEAD + "  - fault: fence-fails\n    count: 0\n    host: host1\n"));
    }

    @Test
    void aGroupsLunAndTheDiskOfADiskFaultAreChecked() {
        String lun4 = "name: p\ndescription: d\ngroups:\n  web: {on: host1, lun: 4}\nsteps:\n";
        Playbook p = PlaybookLoader.parse("p.yaml", lun4 + "  - fault: lun-remove\n    disk: web-lun\n");
        assertEquals(4, p.groups().get("web").lun());
        assertEquals("web-lun", ((Playbook.Fault) p.steps().get(0)).disk());
        assertEquals("p.yaml:5: groups.db.lun: LUN 4 is already web's disk: each group needs a LUN of its own",
                refused(lun4.replace("steps:", "  db: {lun: 4}\nsteps:") + "  - check: ran-once\n    group: web\n"));
        assertEquals("p.yaml:4: groups.web.lun: 0 is out of range (allowed: 1..255)",
                refused(lun4.replace("lun: 4", "lun: 0") + "  - check: ran-once\n    group: web\n"));
        assertEquals("p.yaml:7: steps[1].disk: unknown disk 'web-os' (allowed: web-lun, the disks of the groups with"
                + " lun:)", refused(lun4 + "  - fault: lun-remove\n    disk: web-os\n"));
        assertEquals("p.yaml:6: steps[1].disk: is required", refused(lun4 + "  - fault: lun-restore\n"));
    }

    @Test
    void aFailbackWindowIsRelativeToTheDrillsStart() {
        String head = "name: p\ndescription: d\ngroups:\n  web: {on: host1, failbackWindow: {startsIn: 35s, lasts: 1m}}\n"
                + "steps:\n  - check: ran-once\n    group: web\n";
        Playbook.Need web = PlaybookLoader.parse("p.yaml", head).groups().get("web");
        assertEquals(new Playbook.FailbackWindow(java.time.Duration.ofSeconds(35), java.time.Duration.ofMinutes(1)),
                web.failbackWindow());
        assertEquals("    failback: window 23:59:55-00:00:55\n", web.groupYaml(
                java.time.Instant.parse("2026-12-07T23:59:20Z"), java.time.ZoneOffset.UTC));
        assertEquals("p.yaml:4: groups.web.failbackWindow.lasts: is required (a duration, e.g. 30s)",
                refused(head.replace(", lasts: 1m", "")));
        assertEquals("p.yaml:4: groups.web.failbackWindow.startsIn: 'soon' is not a duration (a number with ms, s, m or"
                + " h, e.g. 3s)", refused(head.replace("35s", "soon")));
        assertEquals("p.yaml:4: groups.web.failbackWindow.lasts: '2h' is out of range (allowed: 1ms..30m)",
                refused(head.replace("1m}", "2h}")));
        assertEquals("p.yaml:4: groups.web.failbackWindow.from: unknown field (allowed: lasts, startsIn)",
                refused(head.replace("lasts: 1m", "from: 1m")));
        assertEquals("p.yaml:4: groups.web.failbackWindow: needs on: HOST in the same group (failback goes back to"
                + " that host, the group's preferred owner)", refused(head.replace("on: host1, ", "")));
    }

    @Test
    void theTopLevelIsCheckedToo(@TempDir Path dir) throws Exception {
        assertEquals("p.yaml:1: name: 'Power Loss' is not a playbook name (lower-case letters, digits and '-',"
                + " 1-64 characters)", refused("name: Power Loss\ndescription: d\ngroups: {web: {}}\nsteps: []\n"));
        assertEquals("p.yaml:4: steps: must list at least one step",
                refused("name: a\ndescription: d\ngroups: {web: {}}\nsteps: []\n"));
        assertEquals("p.yaml:1: groups: is required: the groups the drill acts on, e.g. groups: {web: {on: host1}}",
                refused("name: a\ndescription: d\nsteps: []\n"));
        assertEquals("p.yaml:1: target: unknown field (allowed: description, groups, name, steps)",
                refused("target: lab\n"));
        assertEquals("p.yaml:2: malformed YAML: mapping values are not allowed here", refused("name: a\n  b: [\n"));
        assertEquals(dir + ": is a directory, not a playbook file",
                assertThrows(InvalidInputException.class, () -> PlaybookLoader.load(dir)).getMessage());
        Path bin = Files.write(dir.resolve("bin.yaml"), new byte[] {(byte) 0xff, (byte) 0xfe, 0, 1});
        assertEquals(bin + ":1: is not UTF-8 text (byte 0xff at offset 0): a binary file, or text in another encoding"
                + " (save it as UTF-8)",
                assertThrows(InvalidInputException.class, () -> PlaybookLoader.load(bin)).getMessage());
        assertEquals(dir.resolve("nope.yaml") + ": does not exist (a playbook file was expected)",
                assertThrows(InvalidInputException.class, () -> PlaybookLoader.load(dir.resolve("nope.yaml")))
                        .getMessage());
    }
}
