package io.havm.http;

import io.havm.model.InvalidInputException;
import io.havm.util.Secrets;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The API's bearer tokens: a file readable by its owner only (the user the agent runs as, as
 * {@link Secrets#check} demands), one {@code SCOPE NAME TOKEN} per line; blank lines and lines
 * starting with {@code #} are skipped. SCOPE is read, operator or admin (each allows what the ones
 * before it allow); NAME says who holds it (operations record it); TOKEN is at least 16 characters
 * of letters, digits and {@code -._~+/=}. Errors name the file and the line, never a token.
 */
public final class Tokens {
    /** What a token may do; each scope includes the ones before it. */
    public enum Scope {
        READ, OPERATOR, ADMIN;

        public String word() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }

        public boolean allows(Scope needed) {
            return compareTo(needed) >= 0;
        }
    }

    /** One token's holder. */
    public record Holder(String name, Scope scope) {}

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}");
    private static final Pattern TOKEN = Pattern.compile("[A-Za-z0-9._~+/=-]{16,256}");

    /** By the token's SHA-256, so that a lookup compares digests, not the secrets themselves. */
    private final Map<String, Holder> byDigest;

    private Tokens(Map<String, Holder> byDigest) {
        this.byDigest = Map.copyOf(byDigest);
    }

    /** Reads and checks {@code file} (owner only, see {@link Secrets#check}). */
    public static Tokens load(Path file) {
        Secrets.check(file);
        List<String> lines;
        try {
            if (Files.size(file) > 1024 * 1024) {
                throw new InvalidInputException(file.toString(), "is larger than 1 MiB: a tokens file holds one"
                        + " 'SCOPE NAME TOKEN' per line (is this the right file?)");
            }
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (java.nio.charset.MalformedInputException e) {
            throw new InvalidInputException(file.toString(), "is not UTF-8 text");
        } catch (IOException e) {
            throw new InvalidInputException(file.toString(), "cannot read: " + e.getMessage());
        }
        return parse(file.toString(), lines);
    }

    static Tokens parse(String file, List<String> lines) {
        Map<String, Holder> out = new HashMap<>();
        Set<String> names = new HashSet<>();
        for (int i = 0; i < lines.size(); i++) {
            String where = file + ":" + (i + 1);
            String line = lines.get(i).strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            String[] f = line.split("[ \t]+");
            if (f.length != 3) {
                throw new InvalidInputException(where, "has " + f.length + " field" + (f.length == 1 ? "" : "s")
                        + ": a token line is 'SCOPE NAME TOKEN' (SCOPE: read, operator or admin)");
            }
            Scope scope;
            try {
                scope = Scope.valueOf(f[0].toUpperCase(java.util.Locale.ROOT));
            } catch (IllegalArgumentException e) {
                scope = null;
            }
            if (scope == null || !f[0].equals(scope.word())) {
                throw new InvalidInputException(where, "scope '" + f[0] + "' is not allowed (allowed: read, operator,"
                        + " admin)");
            }
            if (!NAME.matcher(f[1]).matches()) {
                throw new InvalidInputException(where, "name '" + f[1] + "' is not a name (letters, digits, '_', '.',"
                        + " '@', '-'; 1-64 characters)");
            }
            if (!names.add(f[1])) {
                throw new InvalidInputException(where, "name '" + f[1] + "' is given twice (each holder's own token)");
            }
            if (!TOKEN.matcher(f[2]).matches()) {
                throw new InvalidInputException(where, "the token is not 16 to 256 characters of letters, digits and"
                        + " -._~+/= (e.g. openssl rand -hex 32)");
            }
            if (out.put(digest(f[2]), new Holder(f[1], scope)) != null) {
                throw new InvalidInputException(where, "the token of " + f[1] + " is also an earlier line's: every"
                        + " holder needs a token of its own");
            }
        }
        return new Tokens(out);
    }

    /** Whose {@code token} is, if anyone's. */
    public Optional<Holder> holder(String token) {
        return token == null ? Optional.empty() : Optional.ofNullable(byDigest.get(digest(token)));
    }

    public int size() {
        return byDigest.size();
    }

    private static String digest(String token) {
        try {
            return java.util.HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(token.getBytes(StandardCharsets.UTF_8)));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
