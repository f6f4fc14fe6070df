package io.havm.util;

import io.havm.model.InvalidInputException;
import io.havm.model.ZkCredentials;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Secrets from files readable by their owner only: the ZooKeeper credentials of a host (the
 * bootstrap file's {@code credentials}) and fence-agent passwords ({@code password: {file: …}} in
 * the configuration). The configuration itself holds only the files' paths: it is stored in the
 * cluster and shown by {@code config show}, a secret in it would be anyone's.
 *
 * <h2>What a secret file must be</h2>
 * A regular file (a symbolic link is followed), owned by the user havm runs as (root in production),
 * with no permission for group or others (mode 600 or 400), holding the secret alone on one line:
 * one trailing newline is dropped, nothing else is trimmed (a password may begin or end with
 * spaces). systemd's {@code LoadCredential=} files ({@code $CREDENTIALS_DIRECTORY}, mode 400, owned
 * by the service's user) pass as they are.
 *
 * <h2>Why refuse rather than warn</h2>
 * A secret others can read is already leaked, and one others can write lets them choose the
 * password a fence agent sends or the identity an agent takes; an owner other than havm's user can
 * change the mode back at any time. The operator is told the file, its mode and owner, and the
 * command that fixes it, and nothing starts with the file as it is.
 *
 * <p>No message of this class ever contains a file's content.
 */
public final class Secrets {
    /** A secret is a password or a key, not a document: larger files are a mistake (a wrong path). */
    public static final int MAX_BYTES = 64 * 1024;

    private Secrets() {}

    /**
     * Checks the file's type, owner and mode without reading it.
     *
     * @throws InvalidInputException naming the file, its mode and owner, and the fix
     */
    public static void check(Path file) {
        if (file == null || !file.isAbsolute()) {
            throw new InvalidInputException(String.valueOf(file), "a secret file must be given by its absolute path");
        }
        String where = file.toString();
        int mode;
        int uid;
        String owner;
        try {
            if (!Files.isRegularFile(file)) {
                throw new InvalidInputException(where, Files.exists(file, LinkOption.NOFOLLOW_LINKS)
                        ? "is not a regular file (a secret file holds the secret alone on one line)"
                        : "does not exist (a secret file: the secret alone on one line, mode 600, owner "
                                + runningUser() + ")");
            }
            mode = (Integer) Files.getAttribute(file, "unix:mode") & 07777;
            uid = (Integer) Files.getAttribute(file, "unix:uid");
            owner = Files.getOwner(file).getName();
        } catch (NoSuchFileException e) {
            throw new InvalidInputException(where, "does not exist");
        } catch (IOException | UnsupportedOperationException e) {
            throw new InvalidInputException(where, "cannot read its owner and mode: " + e.getMessage());
        }
        String is = "mode " + octal(mode) + " (" + PosixFilePermissions.toString(permissions(mode)) + "), owner "
                + owner + " (uid " + uid + ")";
        List<String> open = new ArrayList<>();
        if ((mode & 044) != 0) {
            open.add("readable");
        }
        if ((mode & 022) != 0) {
            open.add("writable");
        }
        if ((mode & 011) != 0) {
            open.add("executable");
        }
        if (!open.isEmpty()) {
            throw new InvalidInputException(where, is + ": " + String.join(" and ", open) + " by group or others;"
                    + " a secret file must be for its owner only: chmod 600 " + where);
        }
        int self = runningUid();
        if (self >= 0 && uid != self) {
            String user = runningUser();
            throw new InvalidInputException(where, is + ": not owned by " + user + ", the user havm runs as (an owner"
                    + " can give others access again at any time): chown " + user + " " + where);
        }
    }

    /**
     * The secret: {@link #check}ed, then read; one trailing newline ({@code \n} or {@code \r\n}) is
     * dropped.
     *
     * @throws InvalidInputException naming the file and what is wrong, never what it holds
     */
    public static String read(Path file) {
        check(file);
        String where = file.toString();
        byte[] raw;
        try (InputStream in = Files.newInputStream(file)) {
            raw = in.readNBytes(MAX_BYTES + 1);
        } catch (IOException e) {
            throw new InvalidInputException(where, "cannot read: " + e.getMessage());
        }
        if (raw.length > MAX_BYTES) {
            throw new InvalidInputException(where, "is larger than " + MAX_BYTES + " bytes: a secret file holds"
                    + " one secret on one line (is this the right file?)");
        }
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(raw)).toString();
        } catch (CharacterCodingException e) {
            throw new InvalidInputException(where, "is not UTF-8 text");
        }
        if (text.endsWith("\r\n")) {
            text = text.substring(0, text.length() - 2);
        } else if (text.endsWith("\n")) {
            text = text.substring(0, text.length() - 1);
        }
        if (text.isEmpty()) {
            throw new InvalidInputException(where, "is empty: write the secret in it, alone on one line");
        }
        if (text.indexOf('\n') >= 0 || text.indexOf('\r') >= 0 || text.indexOf('\0') >= 0) {
            throw new InvalidInputException(where, "holds more than one line (or a NUL byte): a secret file holds the"
                    + " secret alone on one line, one trailing newline allowed");
        }
        return text;
    }

    /**
     * ZooKeeper digest credentials from a secret file holding {@code user:password} on one line
     * (split at the first ':'; the password may contain ':').
     */
    public static ZkCredentials zkCredentials(Path file) {
        String text = read(file);
        String where = file.toString();
        int colon = text.indexOf(':');
        if (colon < 0) {
            throw new InvalidInputException(where, "holds no ':': ZooKeeper credentials are user:password on one line");
        }
        String user = text.substring(0, colon);
        if (user.isEmpty() || !user.strip().equals(user)) {
            throw new InvalidInputException(where, "the user before ':' is empty or has surrounding spaces"
                    + " (ZooKeeper credentials are user:password on one line)");
        }
        if (colon == text.length() - 1) {
            throw new InvalidInputException(where, "the password after '" + user + ":' is empty");
        }
        return new ZkCredentials(user, text.substring(colon + 1));
    }

    private static String octal(int mode) {
        return String.format("%04o", mode);
    }

    private static Set<PosixFilePermission> permissions(int mode) {
        Set<PosixFilePermission> out = java.util.EnumSet.noneOf(PosixFilePermission.class);
        PosixFilePermission[] order = {
            PosixFilePermission.OTHERS_EXECUTE, PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_READ,
            PosixFilePermission.GROUP_EXECUTE, PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_READ,
            PosixFilePermission.OWNER_EXECUTE, PosixFilePermission.OWNER_WRITE, PosixFilePermission.OWNER_READ};
        for (int bit = 0; bit < order.length; bit++) {
            if ((mode & (1 << bit)) != 0) {
                out.add(order[bit]);
            }
        }
        return out;
    }

    /** The effective uid of this process: the owner of {@code /proc/self}; -1 if unknown. */
    private static int runningUid() {
        try {
            return (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            return -1;
        }
    }

    private static String runningUser() {
        try {
            return Files.getOwner(Path.of("/proc/self")).getName();
        } catch (IOException | UnsupportedOperationException e) {
            return System.getProperty("user.name", "root");
        }
    }
}
