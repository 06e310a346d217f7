package io.streamproxy.interop;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.streamproxy.Protocol;
import io.streamproxy.TransportNotFoundException;
import io.streamproxy.spi.TransportRegistry;
import io.streamproxy.testkit.InteropMatrix;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The matrix over every transport this module puts on the class path. */
class InteropMatrixTest extends InteropMatrix {
    @Override
    protected List<String> expectedTransports() {
        return List.of("jdk", "bc", "netty");
    }

    @Test
    void askingBcForTcp_namesTheTransportsThatOfferIt() {
        assertThatThrownBy(() -> TransportRegistry.getDefault().select(Protocol.TCP, "bc"))
                .isInstanceOf(TransportNotFoundException.class)
                .hasMessage("transport 'bc' does not offer TCP; transports that do: netty, jdk");
    }
}
