package io.streamproxy.spi;

import io.streamproxy.Protocol;
import io.streamproxy.TransportNotFoundException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The transports on the class path, found once with {@link ServiceLoader} and sorted by priority (highest first)
 * then name. A provider that fails to load is skipped with a warning. {@link #select} picks the transport for a
 * protocol: the one named explicitly, else the one named by the system property {@value #TRANSPORT_PROPERTY}, else
 * the best available; when none fits it throws an error naming what was found and what to add.
 */
public final class TransportRegistry {
    /** The system property that picks a transport by name when the options name none. */
    public static final String TRANSPORT_PROPERTY = "streamproxy.transport";

    private static final Logger LOG = LoggerFactory.getLogger(TransportRegistry.class);
    private static final Comparator<TransportProvider> ORDER =
            Comparator.comparingInt(TransportProvider::priority).reversed().thenComparing(TransportProvider::name);
    private static volatile TransportRegistry defaultRegistry;

    private final List<TransportProvider> providers;

    /**
     * Creates a registry over the given providers (for tests and hosts that wire transports by hand).
     *
     * @param providers the providers
     */
    public TransportRegistry(List<? extends TransportProvider> providers) {
        List<TransportProvider> sorted = new ArrayList<>(providers);
        sorted.sort(ORDER);
        this.providers = List.copyOf(sorted);
    }

    /**
     * Returns the registry of the providers visible to this class's class loader, loaded once.
     *
     * @return the shared registry
     */
    public static TransportRegistry getDefault() {
        TransportRegistry r = defaultRegistry;
        if (r == null) {
            synchronized (TransportRegistry.class) {
                r = defaultRegistry;
                if (r == null) {
                    r = load(TransportRegistry.class.getClassLoader());
                    defaultRegistry = r;
                }
            }
        }
        return r;
    }

    /**
     * Loads the providers visible to a class loader, skipping those that fail to load.
     *
     * @param loader the class loader
     * @return a new registry
     */
    public static TransportRegistry load(ClassLoader loader) {
        List<TransportProvider> found = new ArrayList<>();
        Iterator<TransportProvider> it = ServiceLoader.load(TransportProvider.class, loader).iterator();
        while (true) {
            try {
                if (!it.hasNext()) {
                    break;
                }
                found.add(it.next());
            } catch (ServiceConfigurationError | LinkageError e) {
                LOG.warn("skipping a stream-proxy transport that failed to load: {}", e.toString());
            }
        }
        return new TransportRegistry(found);
    }

    /**
     * Returns every provider found, available or not, in preference order.
     *
     * @return an immutable list
     */
    public List<TransportProvider> providers() {
        return providers;
    }

    /**
     * Picks the transport for a protocol.
     *
     * @param protocol the protocol needed
     * @param name     a transport name, or null to use the system property or the best available
     * @return the provider
     * @throws TransportNotFoundException if none fits; the message names what was found and what to add
     */
    public TransportProvider select(Protocol protocol, String name) throws TransportNotFoundException {
        String wanted = name != null ? name : System.getProperty(TRANSPORT_PROPERTY);
        if (wanted != null && !wanted.isBlank()) {
            String key = wanted.trim().toLowerCase(Locale.ROOT);
            for (TransportProvider p : providers) {
                if (p.name().equals(key)) {
                    if (!p.protocols().contains(protocol)) {
                        throw new TransportNotFoundException("transport '" + key + "' does not offer " + protocol
                                + "; transports that do: " + describe(protocol));
                    }
                    if (!p.isAvailable()) {
                        throw new TransportNotFoundException("transport '" + key + "' is unavailable here: "
                                + p.unavailabilityCause().orElse("no reason given"));
                    }
                    return p;
                }
            }
            throw new TransportNotFoundException("no transport named '" + key + "' on the class path; found: "
                    + describeAll() + ". " + artifactHint(protocol));
        }
        for (TransportProvider p : providers) {
            if (p.protocols().contains(protocol) && p.isAvailable()) {
                return p;
            }
        }
        throw new TransportNotFoundException("no available transport offers " + protocol + "; found: "
                + describeAll() + ". " + artifactHint(protocol));
    }

    private String describe(Protocol protocol) {
        String s = providers.stream().filter(p -> p.protocols().contains(protocol)).map(TransportProvider::name)
                .collect(Collectors.joining(", "));
        return s.isEmpty() ? "none on the class path. " + artifactHint(protocol) : s;
    }

    private String describeAll() {
        if (providers.isEmpty()) {
            return "none";
        }
        return providers.stream().map(p -> p.name() + " " + p.protocols()
                        + (p.isAvailable() ? "" : " (unavailable: " + p.unavailabilityCause().orElse("?") + ")"))
                .collect(Collectors.joining(", "));
    }

    /**
     * Tells what to add, naming no transport: which transports exist is what the class path says, so a new
     * transport needs no edit here.
     */
    private static String artifactHint(Protocol protocol) {
        return "Add a transport that offers " + protocol + " to the class path: an io.streamproxy:transport-*"
                + " artifact, or any jar that registers an " + TransportProvider.class.getName()
                + " in META-INF/services";
    }
}
