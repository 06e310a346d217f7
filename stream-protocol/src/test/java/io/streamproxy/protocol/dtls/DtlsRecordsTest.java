package io.streamproxy.protocol.dtls;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

class DtlsRecordsTest {

    /** A record: type, DTLS 1.2, epoch, sequence number 7, and {@code length} bytes of content. */
    private static ByteBuffer record(int type, int epoch, int length) {
        ByteBuffer b = ByteBuffer.allocate(DtlsRecords.HEADER + length);
        b.put((byte) type).put((byte) 0xfe).put((byte) 0xfd).putShort((short) epoch).putShort((short) 0).putInt(7);
        b.putShort((short) length);
        b.position(b.limit()).flip();
        return b;
    }

    @Test
    void aProtectedApplicationRecord_isAnsweredWithACloseNotifyInTheClear() {
        ByteBuffer datagram = record(DtlsRecords.APPLICATION_DATA, 1, 8 + 16 + 1);
        ByteBuffer answer = ByteBuffer.allocate(64);
        assertThat(DtlsRecords.answerUnknownSession(datagram, answer)).isTrue();
        assertThat(datagram.position()).as("not moved").isZero();
        assertThat(answer.remaining()).isEqualTo(DtlsRecords.CLEAR_ALERT);
        assertThat(answer.get(0)).as("type alert").isEqualTo((byte) 21);
        assertThat(answer.getShort(1)).as("DTLS 1.2").isEqualTo((short) 0xfefd);
        assertThat(answer.getShort(3)).as("epoch").isZero();
        long sequence = ((answer.getShort(5) & 0xffffL) << 32) | (answer.getInt(7) & 0xffffffffL);
        assertThat(sequence).as("above the handshake's epoch 0 records").isGreaterThan(1000);
        assertThat(answer.getShort(11)).as("length").isEqualTo((short) 2);
        assertThat(answer.get(13)).as("warning").isEqualTo((byte) 1);
        assertThat(answer.get(14)).as("close_notify").isZero();
        assertThat(DtlsRecords.isClearAlert(answer)).isTrue();
    }

    @Test
    void aClientHelloADrainingServerWillNotAdmit_isAnsweredWithAFatalUserCanceledInTheClear() {
        ByteBuffer hello = record(DtlsRecords.HANDSHAKE, 0, 120);
        hello.putShort(5, (short) 0).putInt(7, 7); // the ClientHello's record sequence number: 7
        ByteBuffer answer = ByteBuffer.allocate(64);
        assertThat(DtlsRecords.answerDraining(hello, answer)).isTrue();
        assertThat(hello.position()).as("not moved").isZero();
        assertThat(answer.remaining()).isEqualTo(DtlsRecords.CLEAR_ALERT);
        assertThat(answer.get(0)).as("type alert").isEqualTo((byte) 21);
        assertThat(answer.getShort(1)).as("the client's version").isEqualTo(hello.getShort(1));
        assertThat(answer.getShort(3)).as("epoch").isZero();
        assertThat(answer.getInt(7)).as("the ClientHello's sequence number, as a HelloVerifyRequest").isEqualTo(7);
        assertThat(answer.get(13)).as("fatal").isEqualTo((byte) 2);
        assertThat(answer.get(14)).as("user_canceled").isEqualTo((byte) 90);

        assertThat(DtlsRecords.answerDraining(record(DtlsRecords.HANDSHAKE, 1, 40), answer))
                .as("a protected handshake record").isFalse();
        assertThat(DtlsRecords.answerDraining(record(DtlsRecords.ALERT, 0, 2), answer)).as("an alert").isFalse();
        ByteBuffer truncated = record(DtlsRecords.HANDSHAKE, 0, 120);
        truncated.limit(truncated.limit() - 1);
        assertThat(DtlsRecords.answerDraining(truncated, answer)).as("truncated").isFalse();
    }

    @Test
    void recordsThatAreNotOfAnEstablishedSession_areNotAnswered() {
        ByteBuffer answer = ByteBuffer.allocate(64);
        assertThat(DtlsRecords.answerUnknownSession(record(DtlsRecords.APPLICATION_DATA, 0, 40), answer))
                .as("application data in the clear").isFalse();
        assertThat(DtlsRecords.answerUnknownSession(record(DtlsRecords.ALERT, 1, 40), answer))
                .as("an alert: two servers never answer each other").isFalse();
        assertThat(DtlsRecords.answerUnknownSession(record(DtlsRecords.HANDSHAKE, 1, 40), answer))
                .as("a handshake record").isFalse();
        assertThat(DtlsRecords.answerUnknownSession(record(DtlsRecords.APPLICATION_DATA, 1, 10), answer))
                .as("shorter than AES-GCM's nonce and tag").isFalse();
        ByteBuffer truncated = record(DtlsRecords.APPLICATION_DATA, 1, 40);
        truncated.limit(truncated.limit() - 1);
        assertThat(DtlsRecords.answerUnknownSession(truncated, answer)).as("truncated").isFalse();
    }

    @Test
    void aClearAlert_isOneAlertRecordOfEpochZero() {
        assertThat(DtlsRecords.isClearAlert(record(DtlsRecords.ALERT, 0, 2))).isTrue();
        assertThat(DtlsRecords.isClearAlert(record(DtlsRecords.ALERT, 1, 2))).as("protected").isFalse();
        assertThat(DtlsRecords.isClearAlert(record(DtlsRecords.APPLICATION_DATA, 0, 2))).isFalse();
        assertThat(DtlsRecords.isClearAlert(record(DtlsRecords.ALERT, 0, 3))).as("too long").isFalse();
        ByteBuffer two = ByteBuffer.allocate(2 * DtlsRecords.CLEAR_ALERT);
        two.put(record(DtlsRecords.ALERT, 0, 2)).put(record(DtlsRecords.ALERT, 0, 2)).flip();
        assertThat(DtlsRecords.isClearAlert(two)).as("two records").isFalse();
    }
}
