package io.streamproxy.cli;

import io.streamproxy.TlsCredentials;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/**
 * Where a command finds its certificates: {@code --certs DIR} (the files {@code stream-proxy certs} writes) or
 * {@code --ca FILE --cert FILE --key FILE}. Keys may be PKCS#8 or the Go agent's SEC1 {@code EC PRIVATE KEY}.
 */
final class CertificateFiles {
    @Option(names = "--certs", paramLabel = "DIR", description = "Folder written by 'stream-proxy certs'.")
    Path certs;

    @Option(names = "--ca", paramLabel = "FILE", description = "CA certificate (PEM) the peer must chain to.")
    Path ca;

    @Option(names = "--cert", paramLabel = "FILE", description = "This side's certificate (PEM).")
    Path cert;

    @Option(names = "--key", paramLabel = "FILE", description = "This side's private key (PEM, PKCS#8 or SEC1).")
    Path key;

    /** The three files of a role. */
    record Files3(Path ca, Path cert, Path key) {
    }

    /** Resolves the files of a role ({@code server} or {@code client}) from the options. */
    Files3 paths(String role) {
        if (certs != null) {
            if (ca != null || cert != null || key != null) {
                throw new CliException("give either --certs DIR or --ca/--cert/--key, not both");
            }
            return new Files3(certs.resolve("ca.pem"), certs.resolve(role + ".pem"), certs.resolve(role + "-key.pem"));
        } else if (ca != null && cert != null && key != null) {
            return new Files3(ca, cert, key);
        }
        throw new CliException("certificates missing: give --certs DIR, or --ca FILE --cert FILE --key FILE");
    }

    /** Loads the credentials of a role ({@code server} or {@code client}). */
    TlsCredentials load(String role) {
        Files3 f = paths(role);
        for (Path p : new Path[] {f.ca(), f.cert(), f.key()}) {
            if (!Files.isReadable(p)) {
                throw new CliException("cannot read " + p);
            }
        }
        try {
            return TlsCredentials.fromPem(f.ca(), f.cert(), f.key());
        } catch (IOException | RuntimeException e) {
            throw new CliException(e.getMessage(), e);
        }
    }
}
