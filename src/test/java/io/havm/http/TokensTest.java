package io.havm.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havm.model.InvalidInputException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The tokens file: each bad line named by file:line, never the token; owner-only files only. */
class TokensTest {
    @TempDir
    Path tmp;

    private static String error(String... lines) {
        return assertThrows(InvalidInputException.class, () -> Tokens.parse("/etc/havm/api-tokens", List.of(lines)))
                .getMessage();
    }

    @Test
    void scopesIncludeTheOnesBelow() {
        Tokens t = Tokens.parse("f", List.of("# who may do what", "", "read grafana 0123456789abcdef0",
                "  operator alice  aaaaaaaaaaaaaaaa1  ", "admin root\tbbbbbbbbbbbbbbbb2"));
        assertEquals(new Tokens.Holder("alice", Tokens.Scope.OPERATOR), t.holder("aaaaaaaaaaaaaaaa1").orElseThrow());
        assertTrue(t.holder("nope").isEmpty());
        assertTrue(t.holder(null).isEmpty());
        assertTrue(Tokens.Scope.ADMIN.allows(Tokens.Scope.OPERATOR));
        assertTrue(Tokens.Scope.OPERATOR.allows(Tokens.Scope.READ));
        assertFalse(Tokens.Scope.READ.allows(Tokens.Scope.OPERATOR));
        assertFalse(Tokens.Scope.OPERATOR.allows(Tokens.Scope.ADMIN));
    }

    @Test
    void badLinesAreNamedByFileAndLine() {
        assertEquals("/etc/havm/api-tokens:2: scope 'write' is not allowed (allowed: read, operator, admin)",
                error("read a 0123456789abcdef0", "write b 0123456789abcdef1"));
        assertEquals("/etc/havm/api-tokens:1: scope 'Admin' is not allowed (allowed: read, operator, admin)",
                error("Admin b 0123456789abcdef1"));
        assertEquals("/etc/havm/api-tokens:1: has 2 fields: a token line is 'SCOPE NAME TOKEN' (SCOPE: read,"
                + " operator or admin)", error("read 0123456789abcdef0"));
        assertEquals("/etc/havm/api-tokens:1: the token is not 16 to 256 characters of letters, digits and -._~+/="
                + " (e.g. openssl rand -hex 32)", error("read a short"));
        assertEquals("/etc/havm/api-tokens:2: name 'a' is given twice (each holder's own token)",
                error("read a 0123456789abcdef0", "admin a 0123456789abcdef1"));
        String same = error("read a 0123456789abcdef0", "admin b 0123456789abcdef0");
        assertEquals("/etc/havm/api-tokens:2: the token of b is also an earlier line's: every holder needs a token of"
                + " its own", same);
        assertFalse(same.contains("0123456789abcdef0"));
    }

    @Test
    void aFileOthersMayReadIsRefused() throws Exception {
        Path f = tmp.resolve("api-tokens");
        Files.writeString(f, "read a 0123456789abcdef0\n");
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-r--r--"));
        String e = assertThrows(InvalidInputException.class, () -> Tokens.load(f)).getMessage();
        assertTrue(e.startsWith(f + ": mode 0644 (rw-r--r--)") && e.endsWith("chmod 600 " + f), e);
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-------"));
        assertEquals(1, Tokens.load(f).size());
        assertEquals(tmp.resolve("none") + ": does not exist (a secret file: the secret alone on one line, mode 600,"
                + " owner " + System.getProperty("user.name") + ")",
                assertThrows(InvalidInputException.class, () -> Tokens.load(tmp.resolve("none"))).getMessage());
    }
}
