package io.streamproxy.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class WarningBudgetTest {
    private static final long MS = TimeUnit.MILLISECONDS.toNanos(1);

    @Test
    void aBurstPerWindow_isWarned_theRestGoToDebug_andTheirCountComesWithTheNextWarning() {
        WarningBudget budget = new WarningBudget(3, 10_000 * MS);
        long t = -5_000 * MS; // nanoTime may be negative
        assertThat(budget.spend(t)).isEqualTo(new WarningBudget.Spent(true, false, 0));
        assertThat(budget.spend(t + MS)).isEqualTo(new WarningBudget.Spent(true, false, 0));
        assertThat(budget.spend(t + 2 * MS)).as("the last of the window says so")
                .isEqualTo(new WarningBudget.Spent(true, true, 0));
        for (int i = 0; i < 1000; i++) {
            assertThat(budget.spend(t + 3 * MS + i * MS).warn()).isFalse();
        }
        assertThat(budget.spend(t + 10_000 * MS)).as("a new window, with the count of the debug ones")
                .isEqualTo(new WarningBudget.Spent(true, false, 1000));
        assertThat(budget.spend(t + 10_001 * MS).debugSince()).isZero();
        assertThat(budget.window()).isEqualTo("10s");
    }
}
