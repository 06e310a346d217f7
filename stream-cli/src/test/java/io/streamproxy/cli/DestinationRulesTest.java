package io.streamproxy.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.streamproxy.Destination;
import io.streamproxy.protocol.HostSyntax;
import java.net.InetAddress;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The rules judge the name in the header and each address that is dialled, as the session core asks them. */
class DestinationRulesTest {

    /** Both stages, as the core runs them: the name, then each resolved address (a literal resolves to itself). */
    private static boolean dials(DestinationRules rules, String host, int port, String... resolvedTo)
            throws Exception {
        Destination d = Destination.of(host, port);
        if (!rules.allows(d)) {
            return false;
        }
        List<String> addresses = HostSyntax.parse(host).isLiteral() ? List.of(host) : List.of(resolvedTo);
        for (String a : addresses) {
            if (rules.allows(d, InetAddress.getByName(a))) {
                return true;
            }
        }
        return false;
    }

    @Test
    void cidrHostAndPortRules() throws Exception {
        DestinationRules rules = DestinationRules.parse(List.of("10.0.0.0/8:53", "*.example.com", "[fd00::/8]:1-1024"),
                List.of("10.0.0.5"));
        assertThat(dials(rules, "10.1.2.3", 53)).isTrue();
        assertThat(dials(rules, "10.1.2.3", 54)).isFalse();
        assertThat(dials(rules, "10.0.0.5", 53)).as("deny wins").isFalse();
        assertThat(dials(rules, "api.example.com", 443, "192.0.2.1")).isTrue();
        assertThat(dials(rules, "example.org", 443, "192.0.2.1")).isFalse();
        assertThat(dials(rules, "fd00::1", 80)).isTrue();
        assertThat(dials(rules, "fd00::1", 8080)).isFalse();
        assertThat(dials(DestinationRules.parse(List.of(), List.of()), "any", 1, "192.0.2.1")).isTrue();
    }

    @ParameterizedTest
    @ValueSource(strings = {"127.0.0.1", "127.255.0.9", "0.0.0.0", "0.1.2.3", "::ffff:127.0.0.1", "::127.0.0.1",
            "::", "::1", "0:0:0:0:0:0:0:1"})
    void denyingLoopback_catchesEveryLiteralThatReachesThisHost(String host) throws Exception {
        DestinationRules rules = DestinationRules.parse(List.of(), List.of("127.0.0.0/8", "[::1]"));
        assertThat(dials(rules, host, 22)).isFalse();
    }

    @Test
    void denyingLoopback_catchesNamesThatResolveThere() throws Exception {
        DestinationRules rules = DestinationRules.parse(List.of(), List.of("127.0.0.0/8", "[::1]"));
        assertThat(dials(rules, "localhost", 22, "127.0.0.1", "::1")).isFalse();
        assertThat(dials(rules, "LOCALHOST.", 22, "127.0.0.1")).isFalse();
        assertThat(dials(rules, "service.example", 22, "127.0.0.1", "192.0.2.1")).as("the other address")
                .isTrue();
    }

    @Test
    void allowCidr_admitsANameResolvingIntoIt() throws Exception {
        DestinationRules rules = DestinationRules.parse(List.of("192.0.2.0/24"), List.of());
        assertThat(dials(rules, "db.internal", 5432, "192.0.2.10")).isTrue();
        assertThat(dials(rules, "db.internal", 5432, "198.51.100.1")).isFalse();
    }

    @ParameterizedTest
    @ValueSource(strings = {"internal.corp", "INTERNAL.CORP", "internal.corp.", "Internal.Corp."})
    void hostRules_compareWithoutCaseAndOneTrailingDot(String host) throws Exception {
        DestinationRules rules = DestinationRules.parse(List.of(), List.of("internal.corp", "*.secret.corp"));
        assertThat(dials(rules, host, 80, "192.0.2.1")).isFalse();
        assertThat(dials(rules, "a.SECRET.corp.", 80, "192.0.2.1")).isFalse();
    }

    @Test
    void onlyNameAllowRules_refuseOtherNamesBeforeAnyLookup() {
        DestinationRules rules = DestinationRules.parse(List.of("*.example.com"), List.of());
        assertThat(rules.allows(Destination.of("other.org", 80))).isFalse();
        assertThat(rules.allows(Destination.of("a.example.com", 80))).isTrue();
    }

    @Test
    void badRules_sayWhy() {
        assertThatThrownBy(() -> DestinationRules.parse(List.of("127.1/8"), List.of()))
                .isInstanceOf(CliException.class).hasMessageContaining("127.1");
        assertThatThrownBy(() -> DestinationRules.parse(List.of("10.0.0.0/33"), List.of()))
                .hasMessageContaining("prefix length");
        assertThatThrownBy(() -> DestinationRules.parse(List.of("fd00::/8"), List.of()))
                .hasMessageContaining("brackets");
    }

    private static boolean dials(DestinationRules rules, io.streamproxy.ClientIdentity who, String host, int port,
                                 String... resolvedTo) throws Exception {
        Destination d = Destination.of(host, port);
        if (!rules.allows(d, who)) {
            return false;
        }
        List<String> addresses = HostSyntax.parse(host).isLiteral() ? List.of(host) : List.of(resolvedTo);
        for (String a : addresses) {
            if (rules.allows(d, InetAddress.getByName(a), who)) {
                return true;
            }
        }
        return false;
    }

    private static final String PIN = "ab".repeat(32);
    private static final io.streamproxy.ClientIdentity BILLING = new io.streamproxy.ClientIdentity(
            "CN=billing,O=Example", "billing", List.of("billing.clients.internal"), List.of(), "00".repeat(32));
    private static final io.streamproxy.ClientIdentity WEB = new io.streamproxy.ClientIdentity(
            "CN=web", "web", List.of(), List.of("spiffe://corp/ns/prod/sa/web"), PIN);

    @Test
    void rulesNamingAClient_countOnlyForThatClient() throws Exception {
        DestinationRules rules = DestinationRules.parse(List.of("cn=billing@10.0.0.5:5432",
                "uri=spiffe://corp/ns/prod/sa/web@*.internal:443"), List.of());
        assertThat(dials(rules, BILLING, "10.0.0.5", 5432)).isTrue();
        assertThat(dials(rules, BILLING, "10.0.0.5", 5433)).isFalse();
        assertThat(dials(rules, BILLING, "app.internal", 443, "10.0.0.7")).isFalse();
        assertThat(dials(rules, WEB, "app.internal", 443, "10.0.0.7")).isTrue();
        assertThat(dials(rules, WEB, "10.0.0.5", 5432)).isFalse();
        assertThat(dials(rules, null, "10.0.0.5", 5432)).as("no identity: only rules for everyone").isFalse();
        assertThat(dials(rules, "10.0.0.5", 5432)).isFalse();
    }

    @Test
    void denyNamingAClient_dnsWildcard_andPublicKeyPin() throws Exception {
        DestinationRules rules = DestinationRules.parse(List.of(),
                List.of("dns=*.clients.internal@10.0.0.0/8", "key=" + PIN.toUpperCase().replaceAll("(..)(?!$)", "$1:")
                        + "@db.internal"));
        assertThat(dials(rules, BILLING, "10.1.1.1", 80)).as("billing's DNS name is under *.clients.internal")
                .isFalse();
        assertThat(dials(rules, WEB, "10.1.1.1", 80)).isTrue();
        assertThat(dials(rules, WEB, "db.internal", 5432, "192.0.2.1")).as("web's key is pinned").isFalse();
        assertThat(dials(rules, BILLING, "db.internal", 5432, "192.0.2.1")).isTrue();
    }

    @ParameterizedTest
    @ValueSource(strings = {"cn=@10.0.0.1", "who=x@10.0.0.1", "key=abc@10.0.0.1", "cn=x@", "cn=x@10.0.0.0/33"})
    void badClientRules_areRefusedWithTheSyntax(String rule) {
        assertThatThrownBy(() -> DestinationRules.parse(List.of(rule), List.of()))
                .isInstanceOf(CliException.class).hasMessageContaining("bad rule");
    }
}
