package io.streamproxy.transport.netty;

import io.netty.channel.IoHandle;
import io.netty.channel.IoHandler;
import io.netty.channel.IoHandlerContext;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.IoOps;
import io.netty.channel.IoRegistration;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollIoOps;

/**
 * Netty's epoll I/O handler with one change: a descriptor that waits for nothing stays in the epoll set. Netty 4.2
 * removes a descriptor from the set when its channel waits for nothing (its input ended and nothing is queued to
 * write, netty/netty#16689), but still sends the next change of what it waits for as a modification, which fails
 * with ENOENT. On a relay that is the usual half-close: the local client sent its FIN, and the reply is still
 * flowing to it; the first write that found the client's socket buffer full asked for EPOLLOUT, failed, and Netty
 * shut the channel's output, so the client saw a clean end of stream in the middle of the reply. Here such a
 * descriptor is kept with the edge-triggered empty mask instead ({@code EPOLLET} alone): epoll reports nothing for it,
 * and a hang-up or error once rather than on every wait, which is what the removal was for.
 */
final class EpollKeptRegistrations implements IoHandler {
    private final IoHandler epoll;

    private EpollKeptRegistrations(IoHandler epoll) {
        this.epoll = epoll;
    }

    /** A factory of Netty's epoll handlers whose registrations are kept as described above. */
    static IoHandlerFactory newFactory() {
        IoHandlerFactory epoll = EpollIoHandler.newFactory();
        return new IoHandlerFactory() {
            @Override
            public IoHandler newHandler(io.netty.util.concurrent.ThreadAwareExecutor executor) {
                return new EpollKeptRegistrations(epoll.newHandler(executor));
            }

            @Override
            public boolean isChangingThreadSupported() {
                return epoll.isChangingThreadSupported();
            }
        };
    }

    @Override
    public void initialize() {
        epoll.initialize();
    }

    @Override
    public int run(IoHandlerContext context) {
        return epoll.run(context);
    }

    @Override
    public void prepareToDestroy() {
        epoll.prepareToDestroy();
    }

    @Override
    public void destroy() {
        epoll.destroy();
    }

    @Override
    public IoRegistration register(IoHandle handle) throws Exception {
        return new Kept(epoll.register(handle));
    }

    @Override
    public void wakeup() {
        epoll.wakeup();
    }

    @Override
    public boolean isCompatible(Class<? extends IoHandle> handleType) {
        return epoll.isCompatible(handleType);
    }

    /** A registration that asks epoll for the empty edge-triggered mask where Netty would remove the descriptor. */
    static final class Kept implements IoRegistration {
        private final IoRegistration registration;

        Kept(IoRegistration registration) {
            this.registration = registration;
        }

        @Override
        public <T> T attachment() {
            return registration.attachment();
        }

        @Override
        public long submit(IoOps ops) {
            return registration.submit(kept(ops));
        }

        /** What is sent to epoll for ops: the same, unless it waits for nothing. */
        static IoOps kept(IoOps ops) {
            return ops instanceof EpollIoOps && ((EpollIoOps) ops).value() == 0 ? EpollIoOps.EPOLLET : ops;
        }

        @Override
        public boolean isValid() {
            return registration.isValid();
        }

        @Override
        public boolean cancel() {
            return registration.cancel();
        }
    }
}
