package io.havm.http;

import io.havm.model.InvalidInputException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.spec.InvalidKeySpecException;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.eclipse.jetty.util.ssl.SslContextFactory;

/**
 * The API's TLS context from PEM files: the certificate chain ({@code CERTIFICATE} blocks, the
 * server's first) and its private key ({@code PRIVATE KEY}, PKCS#8; RSA or EC), put in an
 * in-memory key store for Jetty. Errors name the file and what is wrong, never the key.
 */
public final class Pem {
    private static final Pattern BLOCK = Pattern.compile(
            "-----BEGIN ([A-Z0-9 ]+)-----([A-Za-z0-9+/=\\s]*)-----END \\1-----");

    private Pem() {}

    static SslContextFactory.Server sslContext(Path certificate, Path key) {
        char[] password = "havm".toCharArray(); // the store never leaves this process
        try {
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            ks.setKeyEntry("api", privateKey(key), password, certificates(certificate).toArray(new Certificate[0]));
            SslContextFactory.Server f = new SslContextFactory.Server();
            f.setKeyStore(ks);
            f.setKeyStorePassword(new String(password));
            f.setIncludeProtocols("TLSv1.3", "TLSv1.2");
            return f;
        } catch (java.security.GeneralSecurityException | IOException e) {
            throw new InvalidInputException(certificate + ", " + key, "cannot make a TLS key store of them: "
                    + e.getMessage());
        }
    }

    /** A server TLS context of {@code certificate} and {@code key}, for an HTTPS server other than Jetty. */
    public static javax.net.ssl.SSLContext serverContext(Path certificate, Path key) {
        char[] password = "havm".toCharArray(); // the store never leaves this process
        try {
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            ks.setKeyEntry("api", privateKey(key), password, certificates(certificate).toArray(new Certificate[0]));
            javax.net.ssl.KeyManagerFactory kmf = javax.net.ssl.KeyManagerFactory.getInstance(
                    javax.net.ssl.KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(ks, password);
            javax.net.ssl.SSLContext ctx = javax.net.ssl.SSLContext.getInstance("TLS");
            ctx.init(kmf.getKeyManagers(), null, null);
            return ctx;
        } catch (java.security.GeneralSecurityException | IOException e) {
            throw new InvalidInputException(certificate + ", " + key, "cannot make a TLS key store of them: "
                    + e.getMessage());
        }
    }

    static List<Certificate> certificates(Path file) {
        List<Certificate> out = new ArrayList<>();
        try {
            CertificateFactory cf = CertificateFactory.getInstance("X.509");
            for (byte[] der : blocks(file, "CERTIFICATE")) {
                out.add(cf.generateCertificate(new ByteArrayInputStream(der)));
            }
        } catch (CertificateException e) {
            throw new InvalidInputException(file.toString(), "is not a PEM X.509 certificate: " + e.getMessage());
        }
        if (out.isEmpty()) {
            throw new InvalidInputException(file.toString(), "holds no '-----BEGIN CERTIFICATE-----' block (a PEM"
                    + " certificate, the server's first, then its chain)");
        }
        return out;
    }

    static PrivateKey privateKey(Path file) {
        List<byte[]> keys = blocks(file, "PRIVATE KEY");
        if (keys.size() != 1) {
            throw new InvalidInputException(file.toString(), (keys.isEmpty() ? "holds no" : "holds more than one")
                    + " '-----BEGIN PRIVATE KEY-----' block: the key must be PKCS#8 PEM (convert with openssl pkcs8"
                    + " -topk8 -nocrypt -in OLD -out " + file + ")");
        }
        PKCS8EncodedKeySpec spec = new PKCS8EncodedKeySpec(keys.get(0));
        for (String alg : new String[] {"EC", "RSA", "Ed25519"}) {
            try {
                return KeyFactory.getInstance(alg).generatePrivate(spec);
            } catch (InvalidKeySpecException | java.security.NoSuchAlgorithmException e) {
                // try the next algorithm
            }
        }
        throw new InvalidInputException(file.toString(), "is not an EC, RSA or Ed25519 PKCS#8 private key");
    }

    private static List<byte[]> blocks(Path file, String type) {
        String text;
        try {
            if (Files.size(file) > 1024 * 1024) {
                throw new InvalidInputException(file.toString(), "is larger than 1 MiB: not a PEM file");
            }
            text = Files.readString(file, StandardCharsets.US_ASCII);
        } catch (java.nio.file.NoSuchFileException e) {
            throw new InvalidInputException(file.toString(), "does not exist");
        } catch (IOException e) {
            throw new InvalidInputException(file.toString(), "cannot read: " + e.getMessage());
        }
        List<byte[]> out = new ArrayList<>();
        Matcher m = BLOCK.matcher(text);
        while (m.find()) {
            if (m.group(1).equals(type)) {
                try {
                    out.add(Base64.getMimeDecoder().decode(m.group(2)));
                } catch (IllegalArgumentException e) {
                    throw new InvalidInputException(file.toString(), "a " + type + " block is not base64");
                }
            }
        }
        if (type.equals("PRIVATE KEY") && out.isEmpty() && (text.contains("BEGIN EC PRIVATE KEY")
                || text.contains("BEGIN RSA PRIVATE KEY") || text.contains("BEGIN ENCRYPTED PRIVATE KEY"))) {
            throw new InvalidInputException(file.toString(), "holds a key that is not unencrypted PKCS#8: convert it"
                    + " with openssl pkcs8 -topk8 -nocrypt -in OLD -out " + file);
        }
        return out;
    }
}
