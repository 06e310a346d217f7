package io.streamproxy.bench;

import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Provider;
import java.security.Signature;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.NamedParameterSpec;
import java.util.Arrays;
import java.util.Locale;
import javax.crypto.KeyAgreement;
import org.bouncycastle.jce.provider.BouncyCastleProvider;

/**
 * What the public-key arithmetic of one TLS 1.3 handshake costs a server on the JVM that runs it: an ECDSA P-256
 * signature (the server's CertificateVerify), an ECDSA P-256 verification (the client's CertificateVerify) and an
 * X25519 key pair and agreement (the key share), in the JDK's own providers (what {@code --transport jdk} and the
 * JDK engine under Netty use) and in Bouncy Castle's, on the same JVM. It tells how much of the jdk server's CPU per
 * new tunnel is the JDK's arithmetic, and how that moves with the JDK's version. Microseconds per operation, the
 * median of {@code --rounds} rounds of {@code --ops} operations each, after one round of warm-up.
 *
 * <pre>
 * java -cp stream-bench/target/stream-bench.jar io.streamproxy.bench.HandshakeArithmeticBench [--rounds 5] [--ops 2000]
 * </pre>
 */
public final class HandshakeArithmeticBench {
    private HandshakeArithmeticBench() {
    }

    /**
     * Runs the benchmark.
     *
     * @param args {@code --rounds N --ops N}
     * @throws Exception on failure
     */
    public static void main(String[] args) throws Exception {
        int rounds = 5;
        int ops = 2000;
        if (args.length % 2 != 0) {
            throw new IllegalArgumentException("expected --name value pairs, got " + String.join(" ", args));
        }
        for (int i = 0; i < args.length; i += 2) {
            switch (args[i]) {
                case "--rounds":
                    rounds = Integer.parseInt(args[i + 1]);
                    break;
                case "--ops":
                    ops = Integer.parseInt(args[i + 1]);
                    break;
                default:
                    throw new IllegalArgumentException("expected --rounds N or --ops N, got " + args[i]);
            }
        }
        if (rounds < 1 || ops < 1) {
            throw new IllegalArgumentException("--rounds and --ops must be at least 1");
        }
        System.out.printf(Locale.ROOT, "handshake arithmetic, %s %s, %d cores, median of %d rounds of %d operations%n",
                System.getProperty("java.vm.name"), Runtime.version(), Runtime.getRuntime().availableProcessors(),
                rounds, ops);
        double[] jdk = measure(null, rounds, ops);
        double[] bc = measure(new BouncyCastleProvider(), rounds, ops);
        String[] names = {"ECDSA P-256 sign", "ECDSA P-256 verify", "X25519 key pair and agreement", "in all"};
        System.out.println("| operation | JDK µs | Bouncy Castle µs | BC / JDK |");
        System.out.println("| --- | --- | --- | --- |");
        for (int i = 0; i < names.length; i++) {
            System.out.printf(Locale.ROOT, "| %s | %.0f | %.0f | %.2f× |%n", names[i], jdk[i], bc[i], bc[i] / jdk[i]);
        }
    }

    /** Sign, verify, X25519 and their sum, in µs per operation, with the provider (null: the JDK's choice). */
    private static double[] measure(Provider provider, int rounds, int ops) throws Exception {
        KeyPairGenerator ec = provider == null ? KeyPairGenerator.getInstance("EC")
                : KeyPairGenerator.getInstance("EC", provider);
        ec.initialize(new ECGenParameterSpec("secp256r1"));
        KeyPair signer = ec.generateKeyPair();
        Signature signature = provider == null ? Signature.getInstance("SHA256withECDSA")
                : Signature.getInstance("SHA256withECDSA", provider);
        KeyPairGenerator xdh = provider == null ? KeyPairGenerator.getInstance("XDH")
                : KeyPairGenerator.getInstance("X25519", provider);
        if (provider == null) {
            xdh.initialize(new NamedParameterSpec("X25519"));
        }
        KeyPair peer = xdh.generateKeyPair();
        byte[] transcript = new byte[48];
        double[][] perRound = new double[3][rounds];
        byte[] sig = null;
        for (int r = -1; r < rounds; r++) { // round -1 warms up
            long t0 = System.nanoTime();
            for (int i = 0; i < ops; i++) {
                signature.initSign(signer.getPrivate());
                signature.update(transcript);
                sig = signature.sign();
            }
            long t1 = System.nanoTime();
            for (int i = 0; i < ops; i++) {
                signature.initVerify(signer.getPublic());
                signature.update(transcript);
                if (!signature.verify(sig)) {
                    throw new IllegalStateException("a signature did not verify");
                }
            }
            long t2 = System.nanoTime();
            for (int i = 0; i < ops; i++) {
                KeyPair own = xdh.generateKeyPair();
                KeyAgreement agreement = provider == null ? KeyAgreement.getInstance("XDH")
                        : KeyAgreement.getInstance("X25519", provider);
                agreement.init(own.getPrivate());
                agreement.doPhase(peer.getPublic(), true);
                agreement.generateSecret();
            }
            long t3 = System.nanoTime();
            if (r >= 0) {
                perRound[0][r] = (t1 - t0) / 1e3 / ops;
                perRound[1][r] = (t2 - t1) / 1e3 / ops;
                perRound[2][r] = (t3 - t2) / 1e3 / ops;
            }
        }
        double sign = median(perRound[0]);
        double verify = median(perRound[1]);
        double agree = median(perRound[2]);
        return new double[] {sign, verify, agree, sign + verify + agree};
    }

    private static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted[sorted.length / 2];
    }
}
