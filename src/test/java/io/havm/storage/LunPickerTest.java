package io.havm.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.havm.model.InvalidInputException;
import io.havm.model.StorageSpec;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** LUN choice for new disks, with LUN sizes from a function (no target needed). */
class LunPickerTest {
    private static final long M = 1L << 20;
    private static final long G = 1L << 30;

    private static StorageSpec storage(List<Integer> luns, Integer... used) {
        StorageSpec.Iscsi pool = new StorageSpec.Iscsi("lab", "127.0.0.1", 3263, "iqn.2026-11.io.havm:t", luns);
        Map<String, StorageSpec.Disk> disks = new LinkedHashMap<>();
        for (Integer l : used) {
            disks.put("d" + l, new StorageSpec.Disk("d" + l, "lab", null, l, StorageSpec.Format.RAW, 0, null, false));
        }
        return new StorageSpec(null, Map.of("lab", pool), disks);
    }

    private static StorageSpec.Iscsi lab(StorageSpec st) {
        return (StorageSpec.Iscsi) st.pool("lab").orElseThrow();
    }

    private static LunPicker.Capacity sizes(Map<Integer, Long> sizes, List<Integer> asked) {
        return (pool, lun) -> {
            asked.add(lun);
            Long s = sizes.get(lun);
            if (s == null) {
                throw new Luns.Unreachable("LUN " + lun + " does not answer", true);
            }
            return s;
        };
    }

    private static Map<String, Long> wanted(Object... nameSize) {
        Map<String, Long> m = new LinkedHashMap<>();
        for (int i = 0; i < nameSize.length; i += 2) {
            m.put((String) nameSize[i], (Long) nameSize[i + 1]);
        }
        return m;
    }

    @Test
    void eachDiskGetsTheSmallestFreeLunLargeEnoughAndUsedLunsAreNotAsked() {
        StorageSpec st = storage(List.of(4, 3, 2, 1, 5), 1);
        List<Integer> asked = new ArrayList<>();
        Map<Integer, Long> s = Map.of(1, 8 * G, 2, 2 * G, 3, 64 * M, 4, 1 * G, 5, 64 * M);
        Map<String, Integer> got = LunPicker.pick(st, lab(st), wanted("data", G, "witness", 64 * M, "logs", 100 * M),
                sizes(s, asked), "--shared-disk");
        assertEquals(List.of("data", "witness", "logs"), List.copyOf(got.keySet())); // the order asked
        assertEquals(Map.of("witness", 3, "logs", 4, "data", 2), got);
        assertEquals(List.of(2, 3, 4, 5), asked);
        assertEquals(List.of(2, 3, 4, 5), LunPicker.free(st, lab(st)));
    }

    @Test
    void everyDiskFindsALunWhenThereIsAnAssignment() {
        StorageSpec st = storage(List.of(1, 2));
        Map<String, Integer> got = LunPicker.pick(st, lab(st), wanted("big", 500 * M, "small", 100 * M),
                sizes(Map.of(1, 200 * M, 2, G), new ArrayList<>()), "--shared-disk");
        assertEquals(Map.of("small", 1, "big", 2), got);
    }

    @Test
    void noLargeEnoughLunNamesTheFreeOnesWithTheirSizes() {
        StorageSpec st = storage(List.of(1, 2, 3, 4, 5), 1, 2);
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> LunPicker.pick(st, lab(st),
                wanted("data", G), sizes(Map.of(3, 64 * M, 4, 64 * M), new ArrayList<>()), "--shared-disk"));
        assertEquals("--shared-disk data: no free LUN of at least 1G in pool lab; free: 3 (64M), 4 (64M), 5"
                + " (unreachable: LUN 5 does not answer)", e.getMessage());
    }

    @Test
    void aPoolWithoutALunListIsRefused() {
        StorageSpec st = storage(List.of());
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> LunPicker.pick(st, lab(st),
                wanted("data", G), sizes(Map.of(), new ArrayList<>()), "--shared-disk"));
        assertEquals("storage.pools.lab.luns", e.where());
    }
}
