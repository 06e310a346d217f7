package io.streamproxy.spi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.streamproxy.Protocol;
import io.streamproxy.TransportNotFoundException;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

class TransportRegistryTest {

    private static TransportProvider provider(String name, int priority, Set<Protocol> protocols, String cause) {
        return new TransportProvider() {
            @Override
            public String name() {
                return name;
            }

            @Override
            public int priority() {
                return priority;
            }

            @Override
            public Set<Protocol> protocols() {
                return protocols;
            }

            @Override
            public Optional<String> unavailabilityCause() {
                return Optional.ofNullable(cause);
            }
        };
    }

    private final TransportProvider jdk = provider("jdk", 10, EnumSet.of(Protocol.TCP, Protocol.UDP), null);
    private final TransportProvider netty = provider("netty", 20, EnumSet.of(Protocol.TCP, Protocol.UDP),
            "no native transport");
    private final TransportProvider bc = provider("bc", 30, EnumSet.of(Protocol.UDP), null);

    @Test
    void providers_areSortedByPriorityThenName() {
        TransportRegistry r = new TransportRegistry(List.of(jdk, bc, netty));
        assertThat(r.providers()).extracting(TransportProvider::name).containsExactly("bc", "netty", "jdk");
    }

    @Test
    void select_skipsUnavailableAndThoseWithoutTheProtocol() throws Exception {
        TransportRegistry r = new TransportRegistry(List.of(jdk, bc, netty));
        assertThat(r.select(Protocol.TCP, null).name()).isEqualTo("jdk");
        assertThat(r.select(Protocol.UDP, null).name()).isEqualTo("bc");
    }

    @Test
    void namedTransportWithoutTheProtocol_namesThoseThatOfferIt() {
        TransportRegistry r = new TransportRegistry(List.of(jdk, bc, netty));
        assertThatThrownBy(() -> r.select(Protocol.TCP, "bc")).isInstanceOf(TransportNotFoundException.class)
                .hasMessage("transport 'bc' does not offer TCP; transports that do: netty, jdk");
    }

    @Test
    void namedUnavailableTransport_saysWhy() {
        TransportRegistry r = new TransportRegistry(List.of(jdk, netty));
        assertThatThrownBy(() -> r.select(Protocol.TCP, "Netty")).hasMessageContaining("no native transport");
    }

    @Test
    void noTransportAtAll_saysWhatToAdd_forTheProtocolAsked() {
        TransportRegistry r = new TransportRegistry(List.of());
        assertThatThrownBy(() -> r.select(Protocol.TCP, null)).isInstanceOf(TransportNotFoundException.class)
                .hasMessageContaining("found: none")
                .hasMessageContaining("Add a transport that offers TCP to the class path")
                .hasMessageContaining("io.streamproxy:transport-*")
                .hasMessageContaining(TransportProvider.class.getName());
    }

    @Test
    void unknownName_listsWhatWasFound_andSaysWhatToAdd() {
        TransportRegistry r = new TransportRegistry(List.of(jdk, bc));
        assertThatThrownBy(() -> r.select(Protocol.UDP, "quic")).isInstanceOf(TransportNotFoundException.class)
                .hasMessageStartingWith("no transport named 'quic' on the class path; found: bc [UDP], jdk [")
                .hasMessageContaining("Add a transport that offers UDP to the class path");
    }
}
