package io.havm.config;

import io.havm.model.InvalidInputException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Reads one input file an operator gives havm (a cluster configuration, a fragment, a bootstrap
 * file, a playbook, a VM file) as text, refusing before any parsing what is not such a file: a
 * missing path, a directory, a device, a file larger than the kind allows, bytes that are not
 * UTF-8. Every refusal names the file and, for bad bytes, the line, so that no reader ever sees
 * a Java exception's words in place of a reason.
 */
public final class InputFile {
    private InputFile() {}

    /**
     * The text of {@code file}, a {@code kind} (e.g. "cluster configuration") of at most
     * {@code maxBytes} bytes.
     */
    public static String read(Path file, String kind, long maxBytes) {
        String where = file.toString();
        if (where.isEmpty()) { // --config '' (an unset variable): the empty path would be the current directory
            throw new InvalidInputException("(an empty path)", "a " + kind + " file was expected, not an empty path");
        }
        if (!Files.exists(file)) {
            throw new InvalidInputException(where, "does not exist (a " + kind + " file was expected)");
        }
        if (Files.isDirectory(file)) {
            throw new InvalidInputException(where, "is a directory, not a " + kind + " file");
        }
        if (!Files.isRegularFile(file)) {
            throw new InvalidInputException(where, "is not a regular file (a " + kind + " file was expected)");
        }
        byte[] bytes;
        try {
            long size = Files.size(file);
            if (size > maxBytes) {
                throw new InvalidInputException(where, "is " + size + " bytes: a " + kind + " is at most " + maxBytes
                        + " bytes");
            }
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new InvalidInputException(where, "does not exist (a " + kind + " file was expected)");
        } catch (IOException e) {
            throw new InvalidInputException(where, "cannot read: " + e.getMessage());
        } catch (OutOfMemoryError e) {
            throw new InvalidInputException(where, "is too large to read into memory (a " + kind + " is at most "
                    + maxBytes + " bytes)");
        }
        if (bytes.length > maxBytes) { // it grew while read
            throw new InvalidInputException(where, "is " + bytes.length + " bytes: a " + kind + " is at most "
                    + maxBytes + " bytes");
        }
        return utf8(where, bytes);
    }

    /**
     * Refuses {@code text} unless it is well-formed YAML within the loaders' limits (aliases,
     * nesting, size), with the file, the line and the problem: for readers that parse YAML with
     * another library (Jackson) and would otherwise report less, or apply other limits.
     */
    public static void checkYaml(String file, String text) {
        ClusterConfigLoader.compose(file, text);
    }

    /** {@code bytes} as UTF-8 text; bad bytes refused with their line and offset. */
    static String utf8(String where, byte[] bytes) {
        CharsetDecoder d = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes);
        CharBuffer out = CharBuffer.allocate(bytes.length + 1);
        CoderResult r = d.decode(in, out, true);
        if (r.isError()) {
            int at = in.position();
            int line = 1;
            for (int i = 0; i < at; i++) {
                if (bytes[i] == '\n') {
                    line++;
                }
            }
            throw new InvalidInputException(where + ":" + line, "is not UTF-8 text (byte 0x"
                    + String.format("%02x", bytes[at] & 0xff) + " at offset " + at + "): a binary file, or text in"
                    + " another encoding (save it as UTF-8)");
        }
        d.flush(out);
        out.flip();
        return out.toString();
    }
}
