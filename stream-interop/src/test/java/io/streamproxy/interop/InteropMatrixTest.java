package io.streamproxy.interop;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.streamproxy.Protocol;
import io.streamproxy.TransportNotFoundException;
import io.streamproxy.spi.TransportProvider;
import io.streamproxy.spi.TransportRegistry;
import io.streamproxy.testkit.InteropMatrix;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The matrix over every transport this module puts on the class path. */
class InteropMatrixTest extends InteropMatrix {

    static Stream<Arguments> transportsAndProtocols() {
        List<Arguments> out = new ArrayList<>();
        for (TransportProvider p : TransportRegistry.getDefault().providers()) {
            for (Protocol protocol : Protocol.values()) {
                out.add(Arguments.of(Named.of(p.name(), p), protocol));
            }
        }
        return out.stream();
    }

    /**
     * Asking the registry for a transport by name returns that transport for a protocol it offers, and for one it
     * does not, throws a message that names the transports that do, in the registry's order.
     */
    @ParameterizedTest(name = "{0} for {1}")
    @MethodSource("transportsAndProtocols")
    void selectingByName_returnsTheTransport_orNamesTheTransportsThatOfferTheProtocol(TransportProvider provider,
            Protocol protocol) throws Exception {
        TransportRegistry registry = TransportRegistry.getDefault();
        if (provider.protocols().contains(protocol)) {
            assertThat(registry.select(protocol, provider.name())).isSameAs(provider);
            return;
        }
        String offering = registry.providers().stream().filter(p -> p.protocols().contains(protocol))
                .map(TransportProvider::name).collect(Collectors.joining(", "));
        assertThat(offering).as("some transport on this class path offers %s", protocol).isNotEmpty();
        assertThatThrownBy(() -> registry.select(protocol, provider.name()))
                .isInstanceOf(TransportNotFoundException.class)
                .hasMessage("transport '" + provider.name() + "' does not offer " + protocol
                        + "; transports that do: " + offering);
    }
}
