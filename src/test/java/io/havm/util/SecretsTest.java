package io.havm.util;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.havm.model.InvalidInputException;
import io.havm.model.ZkCredentials;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Secret files: who may read them, what they hold, and that no message ever repeats it. */
class SecretsTest {
    private static final String PW = "s3cret-Pw";

    @TempDir
    Path dir;

    private Path file(String name, String content, String mode) throws Exception {
        Path f = dir.resolve(name);
        Files.writeString(f, content);
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString(mode));
        return f;
    }

    private static InvalidInputException refused(Path f) {
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> Secrets.read(f));
        assertFalse(e.getMessage().contains(PW), "never the content: " + e.getMessage());
        assertTrue(e.getMessage().startsWith(f + ": "), "names the file: " + e.getMessage());
        return e;
    }

    private static String me() throws Exception {
        return Files.getOwner(Path.of("/proc/self")).getName();
    }

    @Test
    void aFileForItsOwnerOnlyIsReadWithOneTrailingNewlineDropped() throws Exception {
        assertEquals(PW, Secrets.read(file("a", PW + "\n", "rw-------")));
        assertEquals(PW, Secrets.read(file("b", PW, "r--------")), "mode 400 (systemd's LoadCredential) too");
        assertEquals(PW, Secrets.read(file("c", PW + "\r\n", "rw-------")));
        assertEquals(" " + PW + " ", Secrets.read(file("d", " " + PW + " \n", "rw-------")),
                "nothing else is trimmed: a password may begin or end with spaces");
    }

    @Test
    void aFileOthersCanReadOrWriteIsRefusedWithItsModeOwnerAndTheFix() throws Exception {
        Path f = file("bmc", PW + "\n", "rw-r--r--");
        assertEquals(f + ": mode 0644 (rw-r--r--), owner " + me() + " (uid "
                + Files.getAttribute(f, "unix:uid") + "): readable by group or others; a secret file must be for its"
                + " owner only: chmod 600 " + f, refused(f).getMessage());
        assertTrue(refused(file("g", PW, "rw-r-----")).getMessage().contains("mode 0640 (rw-r-----)"));
        assertTrue(refused(file("w", PW, "rw-----w-")).getMessage().contains(": writable by group or others;"));
        assertTrue(refused(file("x", PW, "rw-rw-rw-")).getMessage().contains(": readable and writable by group or"
                + " others; a secret file must be for its owner only: chmod 600 "));
        assertThrows(InvalidInputException.class, () -> Secrets.check(f), "check alone refuses it too");
    }

    @Test
    void aFileOwnedByAnotherUserIsRefusedWithTheChown() throws Exception {
        assumeTrue(me().equals("root"), "needs root to give a file away");
        Path f = file("nobody", PW, "rw-------");
        Files.setAttribute(f, "unix:uid", 65534);
        InvalidInputException e = refused(f);
        assertTrue(e.getMessage().contains("mode 0600 (rw-------), owner "), e.getMessage());
        assertTrue(e.getMessage().contains("(uid 65534): not owned by root, the user havm runs as (an owner can give"
                + " others access again at any time): chown root " + f), e.getMessage());
    }

    @Test
    void emptyMultiLineMissingAndNonFilesAreRefusedWithoutShowingTheContent() throws Exception {
        assertTrue(refused(file("e", "", "rw-------")).getMessage().endsWith("is empty: write the secret in it,"
                + " alone on one line"));
        assertTrue(refused(file("n", "\n", "rw-------")).getMessage().contains("is empty"));
        assertTrue(refused(file("m", PW + "\n" + PW + "\n", "rw-------")).getMessage().contains("holds more than one"
                + " line"));
        assertTrue(refused(dir.resolve("missing")).getMessage().contains("does not exist"));
        Path sub = Files.createDirectory(dir.resolve("sub"));
        assertTrue(refused(sub).getMessage().contains("is not a regular file"));
        assertThrows(InvalidInputException.class, () -> Secrets.read(Path.of("relative/secret")));
    }

    @Test
    void zooKeeperCredentialsAreUserColonPasswordAndNeverPrintThePassword() throws Exception {
        ZkCredentials c = Secrets.zkCredentials(file("zk", "havm:" + PW + ":with-colon\n", "rw-------"));
        assertEquals("havm", c.user());
        assertEquals(PW + ":with-colon", c.password(), "split at the first ':'");
        assertFalse(c.toString().contains(PW), c.toString());

        InvalidInputException noColon = assertThrows(InvalidInputException.class,
                () -> Secrets.zkCredentials(file("z1", PW + "\n", "rw-------")));
        assertTrue(noColon.getMessage().contains("holds no ':': ZooKeeper credentials are user:password on one line"));
        assertFalse(noColon.getMessage().contains(PW), noColon.getMessage());
        InvalidInputException noUser = assertThrows(InvalidInputException.class,
                () -> Secrets.zkCredentials(file("z2", ":" + PW, "rw-------")));
        assertFalse(noUser.getMessage().contains(PW), noUser.getMessage());
        assertTrue(noUser.getMessage().contains("the user before ':' is empty"), noUser.getMessage());
        InvalidInputException noPassword = assertThrows(InvalidInputException.class,
                () -> Secrets.zkCredentials(file("z3", "havm:\n", "rw-------")));
        assertTrue(noPassword.getMessage().contains("the password after 'havm:' is empty"), noPassword.getMessage());
        InvalidInputException open = assertThrows(InvalidInputException.class,
                () -> Secrets.zkCredentials(file("z4", "havm:" + PW, "rw-r--r--")));
        assertTrue(open.getMessage().contains("chmod 600"), open.getMessage());
    }
}
