package io.streamproxy.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamproxy.Destination;
import io.streamproxy.DestinationPolicy;
import io.streamproxy.RefusalReason;
import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

class SessionRulesTest {

    @Test
    void validHeader_allowedByPolicy_dials() {
        SessionDecision d = SessionRules.decide(ByteBuffer.wrap(HeaderCodec.encode("10.0.0.5", "53", 0)),
                DestinationPolicy.allowAll());
        assertThat(d.action()).isEqualTo(SessionDecision.Action.DIAL);
        assertThat(d.destination()).isEqualTo(Destination.of("10.0.0.5", 53));
    }

    @Test
    void healthProbe_closesQuietly_withoutAskingThePolicy() {
        SessionDecision d = SessionRules.decide(ByteBuffer.wrap(HeaderCodec.healthProbe()), dest -> {
            throw new AssertionError("policy must not be asked for a probe");
        });
        assertThat(d.action()).isEqualTo(SessionDecision.Action.CLOSE_QUIETLY);
    }

    @Test
    void invalidChecksum_isRefusedAsInvalidHeader() {
        byte[] h = HeaderCodec.encode("example.com", "443", 0);
        h[271] ^= 1;
        SessionDecision d = SessionRules.decide(ByteBuffer.wrap(h), DestinationPolicy.allowAll());
        assertThat(d.action()).isEqualTo(SessionDecision.Action.REFUSE);
        assertThat(d.reason()).isEqualTo(RefusalReason.INVALID_HEADER);
        assertThat(d.detail()).contains("checksum");
    }

    @Test
    void nonNumericPort_isRefusedAsBadDestination() {
        SessionDecision d = SessionRules.decide(ByteBuffer.wrap(HeaderCodec.encode("example.com", "http", 0)),
                DestinationPolicy.allowAll());
        assertThat(d.reason()).isEqualTo(RefusalReason.BAD_DESTINATION);
    }

    @Test
    void emptyHost_isRefusedAsBadDestination_insteadOfDiallingLocalhost() {
        SessionDecision d = SessionRules.decide(ByteBuffer.wrap(HeaderCodec.encode("", "22", 0)),
                DestinationPolicy.allowAll());
        assertThat(d.reason()).isEqualTo(RefusalReason.BAD_DESTINATION);
        assertThat(d.detail()).contains("empty");
    }

    @Test
    void policyDenial_andPolicyFailure_areRefused() {
        ByteBuffer h = ByteBuffer.wrap(HeaderCodec.encode("example.com", "443", 0));
        assertThat(SessionRules.decide(h, dest -> dest.port() != 443).reason())
                .isEqualTo(RefusalReason.POLICY_DENIED);
        SessionDecision failed = SessionRules.decide(h, dest -> {
            throw new IllegalStateException("boom");
        });
        assertThat(failed.reason()).isEqualTo(RefusalReason.POLICY_DENIED);
        assertThat(failed.detail()).contains("boom");
    }

    @Test
    void shortHeader_isRefusedAsInvalid() {
        SessionDecision d = SessionRules.decide(ByteBuffer.wrap(new byte[100]), DestinationPolicy.allowAll());
        assertThat(d.reason()).isEqualTo(RefusalReason.INVALID_HEADER);
        assertThat(d.detail()).contains("100 bytes");
    }
}
