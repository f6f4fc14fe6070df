package io.havm.storage;

import io.havm.model.StorageSpec;
import io.havm.util.Exec;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Asks an iSCSI target about a LUN from this node, with libiscsi's {@code iscsi-readcapacity16}:
 * a login to the portal, READ CAPACITY(16), logout (about 15 ms on the lab). It goes through the
 * same userspace initiator QEMU uses, so "reachable here" means what QEMU will find.
 */
public final class Luns {
    private static final Pattern TOTAL = Pattern.compile("Total size:\\s*([0-9]+)");

    private Luns() {}

    /** Why a LUN cannot be used from here; the message names the portal, target and LUN. */
    public static final class Unreachable extends Exception {
        private final boolean timedOut;

        public Unreachable(String message, boolean timedOut) {
            super(message);
            this.timedOut = timedOut;
        }

        public boolean timedOut() {
            return timedOut;
        }
    }

    /** The LUN's size in bytes, or why it cannot be read from this node within {@code timeout}. */
    public static long capacityBytes(StorageSpec.Iscsi pool, int lun, Duration timeout) throws Unreachable {
        String url = pool.url(lun);
        Exec.Outcome o = Exec.run(timeout, List.of("iscsi-readcapacity16", url));
        String where = "pool " + pool.name() + " (portal " + pool.portal() + ", target " + pool.target() + ") LUN "
                + lun;
        if (o.timedOut()) {
            throw new Unreachable(where + ": no answer within " + timeout.toMillis() + " ms", true);
        }
        if (o.code() == 127) {
            throw new Unreachable(where + ": " + o.err() + " (install libiscsi-bin)", false);
        }
        Matcher m = TOTAL.matcher(o.out());
        if (o.code() != 0 || !m.find()) {
            String text = (o.err() + " " + o.out()).strip().replaceAll("\\s+", " ");
            throw new Unreachable(where + ": " + (text.isEmpty() ? "exit " + o.code() : text), false);
        }
        return Long.parseLong(m.group(1));
    }
}
