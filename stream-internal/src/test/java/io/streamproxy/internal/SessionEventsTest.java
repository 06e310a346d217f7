package io.streamproxy.internal;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** What a peer sent can neither forge log lines nor flood them. */
class SessionEventsTest {
    @Test
    void controlCharacters_areEscaped_soAHeaderCannotForgeALogLine() {
        assertThat(SessionEvents.printable("evil.example\r\n2026-12-02 INFO forged"))
                .isEqualTo("evil.example\\x0d\\x0a2026-12-02 INFO forged");
        assertThat(SessionEvents.printable("a\u001b[31mb\u2028c\u0085")).isEqualTo("a\\x1b[31mb\\u2028c\\x85");
    }

    @Test
    void plainText_isKept_andLongTextIsCut() {
        assertThat(SessionEvents.printable("db.internal:5432 (ü)")).isEqualTo("db.internal:5432 (ü)");
        assertThat(SessionEvents.printable("x".repeat(600))).hasSize(515).endsWith("...");
        assertThat(SessionEvents.printable(null)).isEmpty();
    }
}
