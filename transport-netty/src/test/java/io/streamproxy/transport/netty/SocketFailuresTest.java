package io.streamproxy.transport.netty;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import io.netty.channel.ChannelException;
import io.netty.channel.ReflectiveChannelFactory;
import io.netty.channel.embedded.EmbeddedChannel;
import java.io.IOException;
import java.net.ConnectException;
import org.junit.jupiter.api.Test;

class SocketFailuresTest {
    /**
     * Fails as EpollSocketChannel's constructor does when the process has no descriptor left (an embedded channel, so
     * that the constructor before the throw opens no socket).
     */
    public static final class NoDescriptorLeft extends EmbeddedChannel {
        public NoDescriptorLeft() {
            // what Socket.newSocketStream throws (a NativeIoException, whose class needs the natives loaded)
            throw new ChannelException(new IOException("newSocketStream(..) failed: Too many open files"));
        }
    }

    @Test
    void aChannelNettyCouldNotMake_isNamedByTheSystemsFailure_notByNettysWrapper() {
        Throwable made = catchThrowable(() -> new ReflectiveChannelFactory<>(NoDescriptorLeft.class).newChannel());
        assertThat(made).isInstanceOf(ChannelException.class).hasMessageStartingWith("Unable to create Channel");

        assertThat(SocketFailures.words(made)).isEqualTo("newSocketStream(..) failed: Too many open files");
        assertThat(SocketFailures.reported(made)).isExactlyInstanceOf(IOException.class);
    }

    @Test
    void anyOtherFailure_isReportedAsItIs() {
        ConnectException refused = new ConnectException("Connection refused");
        assertThat(SocketFailures.reported(refused)).isSameAs(refused);
        assertThat(SocketFailures.words(refused)).isEqualTo("Connection refused");
        assertThat(SocketFailures.words(new IllegalStateException())).isEqualTo("java.lang.IllegalStateException");
    }
}
