package com.example.streamproxy.nio;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectMethod;

import io.streamproxy.spi.TransportProvider;
import io.streamproxy.testkit.TcpAuthenticationKit;
import io.streamproxy.testkit.TcpHalfCloseKit;
import io.streamproxy.testkit.TcpHeaderValidationKit;
import io.streamproxy.testkit.TcpRelayKit;
import io.streamproxy.testkit.TcpResourceKit;
import io.streamproxy.testkit.TcpTimeoutKit;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.platform.engine.DiscoverySelector;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;

/**
 * A kit is only worth what it catches: each deliberately broken variant of the sample ({@link Defect}) runs the kit
 * case that covers its defect, through the JUnit Platform {@link Launcher}, and that case must fail with a message
 * that names the defect. The correct sample passes the same cases (the {@code NioSampleTcp*Test} classes), so each
 * failure here is the defect's doing ({@link #sampleWithoutDefects_passesEveryCaseThatABrokenVariantFails} checks that
 * in this same harness). Only the relevant case runs per variant, to keep the build short; to run some variants only:
 * {@code -Dtest=BrokenVariantsTest -DargLine=-DbrokenVariant=NO_KEEPALIVE,DIALS_BEFORE_POLICY}.
 */
class BrokenVariantsTest {
    /** The defect the kit classes below run with (null: none); set before each launch (one at a time). */
    private static volatile Defect current;

    private static TransportProvider broken() {
        Defect d = current;
        return new NioSampleTransportProvider(d == null ? EnumSet.noneOf(Defect.class) : EnumSet.of(d));
    }

    static Stream<Arguments> variants() {
        String only = System.getProperty("brokenVariant");
        return all().filter(a -> only == null || List.of(only.split(",")).contains(a.get()[0].toString()));
    }

    private static Stream<Arguments> all() {
        return Stream.of(
                Arguments.of(Defect.DROPS_PIPELINED_BYTES, BrokenRelay.class,
                        "dataInSameWriteAsHeader_reachesDestination", "", "pipelined behind the header"),
                Arguments.of(Defect.IGNORES_HEADER_TIMEOUT, BrokenTimeout.class,
                        "clientThatNeverSendsHeader_isClosedAfterHeaderTimeout", "", "header timeout"),
                Arguments.of(Defect.DIALS_BEFORE_POLICY, BrokenHeaderValidation.class,
                        "policyDenial_closesWithoutDialling", "", "dialled a destination the policy denies"),
                Arguments.of(Defect.TURNS_HALF_CLOSE_INTO_FULL_CLOSE, BrokenHalfClose.class,
                        "halfClose_reachesDestination_whileReplyFlowsBack", "", "half-close"),
                Arguments.of(Defect.TRUSTS_ANY_CLIENT_CA, BrokenAuthentication.class,
                        "untrustedClientCertificate_isRefused_andProbeSaysSo", "java.lang.String",
                        "accepted a client certificate it must not trust"),
                Arguments.of(Defect.LOGS_PROBES_AS_ERRORS, BrokenHeaderValidation.class,
                        "healthProbe_closesQuietly_withoutDialling_orLoggingErrors", "",
                        "a health probe logged at WARN or above"),
                Arguments.of(Defect.LEAKS_A_THREAD_PER_SESSION, BrokenResource.class,
                        "serverClose_endsLiveSessions_andLeavesNoThreadOrSocket", "", "threads left running"),
                Arguments.of(Defect.TURNS_RESET_INTO_CLEAN_END, BrokenHalfClose.class,
                        "destinationReset_reachesTheClientAsAReset", "", "a reset, not an end of stream"),
                Arguments.of(Defect.IGNORES_DIAL_TIMEOUT, BrokenTimeout.class,
                        "unreachableDestination_clientSeesCloseWithinDialTimeout", "", "dial timeout"),
                Arguments.of(Defect.NO_KEEPALIVE, BrokenResource.class,
                        "acceptedAndDialledSockets_useKeepalive", "", "keepalive"));
    }

    @ParameterizedTest(name = "{0} fails {2}")
    @MethodSource("variants")
    void brokenVariant_failsTheKitCase_withAMessageNamingTheDefect(Defect defect, Class<?> kit, String method,
            String parameterTypes, String namesTheDefect) {
        Outcomes outcomes = run(defect, List.of(select(kit, method, parameterTypes)));

        assertThat(outcomes.finished).as("kit cases that ran").isNotEmpty();
        assertThat(outcomes.failures).as("the kit passed a transport that %s: %s", defect, outcomes.finished)
                .isNotEmpty();
        outcomes.failures.forEach((name, message) -> assertThat(message)
                .as("the message of the kit's failure of %s for %s", name, defect)
                .containsIgnoringCase(namesTheDefect));
    }

    /** The control: the same harness and the same cases pass on the sample without a defect. */
    @Test
    void sampleWithoutDefects_passesEveryCaseThatABrokenVariantFails() {
        List<DiscoverySelector> selectors = new ArrayList<>();
        all().forEach(a -> selectors.add(select((Class<?>) a.get()[1], (String) a.get()[2], (String) a.get()[3])));
        Outcomes outcomes = run(null, selectors);
        assertThat(outcomes.finished).as("kit cases that ran").hasSizeGreaterThanOrEqualTo(9);
        assertThat(outcomes.failures).as("failures of the sample without defects").isEmpty();
    }

    private static DiscoverySelector select(Class<?> kit, String method, String parameterTypes) {
        return parameterTypes.isEmpty() ? selectMethod(kit, method) : selectMethod(kit, method, parameterTypes);
    }

    private static Outcomes run(Defect defect, List<DiscoverySelector> selectors) {
        current = defect;
        LauncherDiscoveryRequest request = LauncherDiscoveryRequestBuilder.request().selectors(selectors).build();
        Outcomes outcomes = new Outcomes();
        Launcher launcher = LauncherFactory.create();
        launcher.execute(request, outcomes);
        return outcomes;
    }

    /** Collects the test cases that ran and the failures (name, message and causes) of those that failed. */
    private static final class Outcomes implements TestExecutionListener {
        final List<String> finished = new ArrayList<>();
        /** The failed case's name, and its messages (the throwable and its causes), which must name the defect. */
        final Map<String, String> failures = new LinkedHashMap<>();

        @Override
        public void executionFinished(TestIdentifier id, TestExecutionResult result) {
            if (!id.isTest()) {
                return;
            }
            finished.add(id.getDisplayName() + ": " + result.getStatus());
            if (result.getStatus() == TestExecutionResult.Status.SUCCESSFUL) {
                return;
            }
            StringWriter trace = new StringWriter();
            result.getThrowable().ifPresent(t -> {
                for (Throwable c = t; c != null; c = c.getCause()) {
                    trace.append(c.toString()).append('\n');
                }
                if (result.getStatus() == TestExecutionResult.Status.ABORTED) {
                    t.printStackTrace(new PrintWriter(trace));
                }
            });
            failures.put(id.getDisplayName() + " (" + result.getStatus() + ")", trace.toString());
        }
    }

    // The kit classes, fed with the broken variant. Static nested classes: the build does not run them by itself.

    static class BrokenRelay extends TcpRelayKit {
        @Override
        protected TransportProvider provider() {
            return broken();
        }
    }

    static class BrokenTimeout extends TcpTimeoutKit {
        @Override
        protected TransportProvider provider() {
            return broken();
        }
    }

    static class BrokenHeaderValidation extends TcpHeaderValidationKit {
        @Override
        protected TransportProvider provider() {
            return broken();
        }
    }

    static class BrokenHalfClose extends TcpHalfCloseKit {
        @Override
        protected TransportProvider provider() {
            return broken();
        }

        @Override
        protected boolean halfCloseOnTls12() {
            return false;
        }
    }

    static class BrokenAuthentication extends TcpAuthenticationKit {
        @Override
        protected TransportProvider provider() {
            return broken();
        }
    }

    static class BrokenResource extends TcpResourceKit {
        @Override
        protected TransportProvider provider() {
            return broken();
        }
    }
}
