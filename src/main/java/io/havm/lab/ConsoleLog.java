package io.havm.lab;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * What the test guest said on its serial console (a file on shared storage, appended by every
 * host that ran it): BOOTCOUNT n, BOOTED, TICK i. The referee for "did it keep running, did it
 * reboot, did the disk persist".
 */
public record ConsoleLog(int booted, List<Integer> bootCounts, List<List<Integer>> ticksPerBoot) {

    public static ConsoleLog read(Path file) {
        String text;
        try {
            text = Files.exists(file) ? Files.readString(file, StandardCharsets.ISO_8859_1) : "";
        } catch (IOException e) {
            throw new IllegalStateException("cannot read console log " + file + ": " + e.getMessage(), e);
        }
        return parse(text);
    }

    public static ConsoleLog parse(String text) {
        int booted = 0;
        List<Integer> counts = new ArrayList<>();
        List<List<Integer>> ticks = new ArrayList<>();
        for (String raw : text.split("\r?\n")) {
            String line = raw.strip();
            if (line.equals("BOOTED")) {
                booted++;
                ticks.add(new ArrayList<>());
            } else if (line.startsWith("BOOTCOUNT ")) {
                try {
                    counts.add(Integer.parseInt(line.substring(10).strip()));
                } catch (NumberFormatException e) {
                    counts.add(-1);
                }
            } else if (line.startsWith("TICK ") && !ticks.isEmpty()) {
                try {
                    ticks.get(ticks.size() - 1).add(Integer.parseInt(line.substring(5).strip()));
                } catch (NumberFormatException e) {
                    // a line torn by a host power loss mid-write: not a tick
                }
            }
        }
        return new ConsoleLog(booted, counts, ticks);
    }

    /** Last tick of the current boot, 0 before the first. */
    public int lastTick() {
        if (ticksPerBoot.isEmpty() || ticksPerBoot.get(ticksPerBoot.size() - 1).isEmpty()) {
            return 0;
        }
        List<Integer> t = ticksPerBoot.get(ticksPerBoot.size() - 1);
        return t.get(t.size() - 1);
    }

    /** Last boot counter the guest read from its disk, -1 if none. */
    public int lastBootCount() {
        return bootCounts.isEmpty() ? -1 : bootCounts.get(bootCounts.size() - 1);
    }

    /** True if the ticks of boot {@code i} (0-based) only ever rise by one: the guest never restarted or lost time. */
    public boolean ticksContinuous(int boot) {
        List<Integer> t = ticksPerBoot.get(boot);
        for (int i = 1; i < t.size(); i++) {
            if (t.get(i) != t.get(i - 1) + 1) {
                return false;
            }
        }
        return true;
    }
}
