package io.streamproxy.cli;

import com.google.common.net.HostAndPort;
import com.google.common.net.InetAddresses;
import io.streamproxy.spi.DurationText;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine;

/** Converters for the command line's values: addresses and durations. */
final class Values {
    private static final Pattern DURATION = Pattern.compile("(\\d+)(ms|s|m|h)");

    private Values() {
    }

    /** {@code HOST:PORT} ({@code [v6]:PORT} for IPv6), port 0..65535; the host is resolved. */
    static final class Address implements CommandLine.ITypeConverter<InetSocketAddress> {
        @Override
        public InetSocketAddress convert(String value) {
            return parse(value, true);
        }
    }

    static InetSocketAddress parse(String value, boolean resolve) {
        HostAndPort hp;
        try {
            hp = HostAndPort.fromString(value);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.TypeConversionException("'" + value + "' is not HOST:PORT: " + e.getMessage());
        }
        if (!hp.hasPort() || hp.getHost().isEmpty()) {
            throw new CommandLine.TypeConversionException("'" + value + "' is not HOST:PORT (port missing)");
        }
        int port = hp.getPort();
        if (!resolve) {
            return InetSocketAddress.createUnresolved(hp.getHost(), port);
        }
        String host = hp.getHost();
        if (InetAddresses.isInetAddress(host)) {
            return new InetSocketAddress(InetAddresses.forString(host), port);
        }
        try {
            return new InetSocketAddress(InetAddress.getByName(host), port);
        } catch (java.net.UnknownHostException e) {
            throw new CommandLine.TypeConversionException("cannot resolve '" + host + "' in '" + value + "'");
        }
    }

    /** {@code HOST:PORT} left unresolved (a destination the server resolves). */
    static final class Destination implements CommandLine.ITypeConverter<HostAndPort> {
        @Override
        public HostAndPort convert(String value) {
            try {
                HostAndPort hp = HostAndPort.fromString(value);
                if (!hp.hasPort() || hp.getHost().isEmpty() || hp.getPort() == 0) {
                    throw new CommandLine.TypeConversionException("'" + value + "' is not HOST:PORT with a port "
                            + "in 1..65535");
                }
                return hp;
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException("'" + value + "' is not HOST:PORT: " + e.getMessage());
            }
        }
    }

    /** Durations written {@code 500ms}, {@code 5s}, {@code 2m}, {@code 1h}. */
    static final class DurationValue implements CommandLine.ITypeConverter<Duration> {
        @Override
        public Duration convert(String value) {
            return duration(value);
        }
    }

    /** Durations that must be more than zero: a bound or an idle timeout of 0 would end everything at once. */
    static final class PositiveDurationValue implements CommandLine.ITypeConverter<Duration> {
        @Override
        public Duration convert(String value) {
            Duration d = duration(value);
            if (d.isZero()) {
                throw new CommandLine.TypeConversionException("'" + value + "' is not a positive duration such as "
                        + "500ms, 5s, 2m");
            }
            return d;
        }
    }

    static Duration duration(String value) {
        Matcher m = DURATION.matcher(value.trim().toLowerCase(Locale.ROOT));
        if (!m.matches()) {
            throw new CommandLine.TypeConversionException("'" + value + "' is not a duration such as 500ms, 5s, 2m");
        }
        Duration d;
        try {
            long n = Long.parseLong(m.group(1));
            switch (m.group(2)) {
                case "ms":
                    d = Duration.ofMillis(n);
                    break;
                case "s":
                    d = Duration.ofSeconds(n);
                    break;
                case "m":
                    d = Duration.ofMinutes(n);
                    break;
                default:
                    d = Duration.ofHours(n);
            }
            d.toNanos(); // every timer counts in nanoseconds: past about 292 years it overflows
        } catch (ArithmeticException | NumberFormatException e) {
            throw new CommandLine.TypeConversionException("'" + value + "' is too long a duration");
        }
        return d;
    }

    /**
     * A duration as the options write it ({@code 500ms}, {@code 20s}, {@code 2m}, {@code 1h}): for a duration the
     * options can give, the inverse of {@link #duration}.
     */
    static String text(Duration d) {
        return DurationText.of(d);
    }

    static String text(InetSocketAddress a) {
        return HostAndPort.fromParts(a.getAddress() != null ? InetAddresses.toAddrString(a.getAddress())
                : a.getHostString(), a.getPort()).toString();
    }

    /** A handshake rate: {@code RATE} or {@code RATE/BURST}, handshakes per second and the bucket's size. */
    record Rate(double perSecond, int burst) {
    }

    /** Reads {@code 20} (burst 20) or {@code 5/50}; the burst defaults to the rate rounded up, at least 1. */
    static final class RateValue implements CommandLine.ITypeConverter<Rate> {
        @Override
        public Rate convert(String value) {
            Matcher m = RATE.matcher(value.trim());
            if (!m.matches()) {
                throw new CommandLine.TypeConversionException("'" + value + "' is not a rate such as 20 or 5/50 "
                        + "(handshakes per second, optionally a burst)");
            }
            double rate = Double.parseDouble(m.group(1));
            if (!(rate > 0)) {
                throw new CommandLine.TypeConversionException("a rate must be more than 0, not '" + value + "'");
            }
            int burst = m.group(2) != null ? Integer.parseInt(m.group(2)) : (int) Math.max(1, Math.ceil(rate));
            if (burst < 1) {
                throw new CommandLine.TypeConversionException("a burst must be at least 1, not '" + value + "'");
            }
            return new Rate(rate, burst);
        }
    }

    private static final Pattern RATE = Pattern.compile("(\\d{1,9}(?:\\.\\d{1,6})?)(?:/(\\d{1,9}))?");
}
