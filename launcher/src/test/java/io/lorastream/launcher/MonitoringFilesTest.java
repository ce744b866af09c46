package io.lorastream.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * The PromQL name extraction that DemoMetricsIT relies on to check the dashboard and the alert
 * rules against what the services export, and the shape of the shipped files themselves.
 */
class MonitoringFilesTest {
  @Test
  void readsMetricNamesAndNothingElseFromAnExpression() {
    assertThat(MonitoringFiles.metricNames("sum by (adapter, model) (rate(lorastream_eval_correct_total{stream=\"x\","
        + "model=~\"a|b\"}[5m])) / sum by (adapter) (rate(lorastream_eval_examples_total[5m]))"))
        .containsExactly("lorastream_eval_correct_total", "lorastream_eval_examples_total");
    assertThat(MonitoringFiles.metricNames("histogram_quantile(0.99, sum by (le, consumer) "
        + "(rate(lorastream_adapter_swap_latency_seconds_bucket[15m]))) > 1"))
        .containsExactly("lorastream_adapter_swap_latency_seconds_bucket");
    assertThat(MonitoringFiles.metricNames("lorastream_trainer_input_lag > 0 and rate(lorastream_trainer_examples_total[10m])"
        + " == 0 offset 5m")).containsExactly("lorastream_trainer_examples_total", "lorastream_trainer_input_lag");
    assertThat(MonitoringFiles.metricNames("rate(kafka_producer_txn_commit_time_ns_total[5m]) / 1e9 / on (adapter) "
        + "group_left rate(lorastream_trainer_snapshots_total[5m])"))
        .containsExactly("kafka_producer_txn_commit_time_ns_total", "lorastream_trainer_snapshots_total");
    assertThat(MonitoringFiles.metricNames("up{job=\"lorastream\"} == 0")).containsExactly("up");
    assertThat(MonitoringFiles.metricNames("lorastrem_typo_total")).containsExactly("lorastrem_typo_total");
  }

  @Test
  void theShippedDashboardAndRulesQueryOnlyNamesTheServicesCanExport() throws Exception {
    var queries = MonitoringFiles.allQueries();
    assertThat(queries).hasSizeGreaterThan(20);
    for (var q : queries) {
      assertThat(MonitoringFiles.metricNames(q.expr())).as(q.where() + ": " + q.expr()).isNotEmpty()
          .allSatisfy(n -> assertThat(n).matches("(lorastream|kafka|jvm)_[a-z0-9_]+|up"));
    }
    // the panels the issue asks for
    String titles = MonitoringFiles.dashboardQueries(MonitoringFiles.dir().resolve("grafana").resolve("lorastream.json"))
        .stream().map(MonitoringFiles.Query::where).distinct().toList().toString();
    assertThat(titles).contains("Examples per second", "Lag", "Training loss", "LoRA ranks", "Adapter version per consumer",
        "Swap latency", "Dead-letter reasons", "Rejected snapshots", "Prequential accuracy");
  }
}
