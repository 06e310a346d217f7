package io.streamproxy.transport.jdk;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.streamproxy.Protocol;
import io.streamproxy.TransportNotFoundException;
import io.streamproxy.spi.TransportProvider;
import io.streamproxy.spi.TransportRegistry;
import java.util.ServiceLoader;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class JdkProviderDiscoveryTest {

    @Test
    void serviceLoader_findsTheJdkProvider() throws Exception {
        assertThat(ServiceLoader.load(TransportProvider.class).stream().map(ServiceLoader.Provider::type)
                .collect(Collectors.toList())).contains(JdkTransportProvider.class);
        TransportProvider jdk = TransportRegistry.getDefault().select(Protocol.TCP, "jdk");
        assertThat(jdk).isInstanceOf(JdkTransportProvider.class);
        assertThat(jdk.isAvailable()).isTrue();
        assertThat(TransportRegistry.getDefault().select(Protocol.TCP, null).name()).isEqualTo("jdk");
    }

    @Test
    void unknownTransportName_namesWhatWasFound() {
        assertThatThrownBy(() -> TransportRegistry.getDefault().select(Protocol.TCP, "quic"))
                .isInstanceOf(TransportNotFoundException.class)
                .hasMessageContaining("no transport named 'quic'")
                .hasMessageContaining("jdk [TCP")
                .hasMessageContaining("io.streamproxy:transport-");
    }

    @Test
    void systemProperty_picksTheTransport() throws Exception {
        String old = System.getProperty(TransportRegistry.TRANSPORT_PROPERTY);
        System.setProperty(TransportRegistry.TRANSPORT_PROPERTY, "nope");
        try {
            assertThatThrownBy(() -> TransportRegistry.getDefault().select(Protocol.TCP, null))
                    .hasMessageContaining("no transport named 'nope'");
            assertThat(TransportRegistry.getDefault().select(Protocol.TCP, "jdk").name()).isEqualTo("jdk");
        } finally {
            if (old == null) {
                System.clearProperty(TransportRegistry.TRANSPORT_PROPERTY);
            } else {
                System.setProperty(TransportRegistry.TRANSPORT_PROPERTY, old);
            }
        }
    }
}
