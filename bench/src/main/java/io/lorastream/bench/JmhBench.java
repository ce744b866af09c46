package io.lorastream.bench;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.results.format.ResultFormatType;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.Options;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * Section jmh: the micro-benchmarks under JMH (serde round trip, merge, pure-Java forward; classes
 * in {@code io.lorastream.bench.jmh}), one forked JVM per benchmark with the same classpath and
 * offline DJL. Writes JMH's own {@code jmh.json} next to bench.json and reports, as ratios measured
 * in this run, lorastream's deserializer against Avro's reader on the same bytes. The forked JVMs
 * show up as "other processes" in the machine-load table: that is this section's own work.
 */
final class JmhBench {
  private JmhBench() {
  }

  static void run(BenchContext ctx, Path out) throws Exception {
    boolean quick = ctx.plan.mode().equals("quick");
    Path json = out.resolve("jmh.json");
    Options opts = new OptionsBuilder()
        .include("io\\.lorastream\\.bench\\.jmh\\..*")
        .forks(1)
        .warmupIterations(quick ? 2 : 3).warmupTime(TimeValue.milliseconds(quick ? 500 : 1000))
        .measurementIterations(quick ? 3 : 5).measurementTime(TimeValue.milliseconds(quick ? 500 : 1000))
        .jvmArgsAppend("-Dai.djl.offline=true", "-Xmx2g")
        .result(json.toString()).resultFormat(ResultFormatType.JSON)
        .shouldFailOnError(true)
        .build();
    ctx.progress("jmh: serde, merge and forward micro-benchmarks, one fork each (%s), results in %s",
        quick ? "2+3 iterations of 0.5 s" : "3+5 iterations of 1 s", json);
    Collection<RunResult> results = new Runner(opts).run();
    List<Map<String, Object>> rows = new ArrayList<>();
    Map<String, Double> score = new LinkedHashMap<>();
    StringBuilder md = new StringBuilder("JMH 1.37, one fork per benchmark, average time per call. Raw results: `jmh.json`.\n\n"
        + "| benchmark | params | score | ± (99.9 %) | unit |\n|---|---|---|---|---|\n");
    for (RunResult r : results) {
      String name = r.getParams().getBenchmark().replace("io.lorastream.bench.jmh.", "");
      String params = r.getParams().getParamsKeys().stream().map(k -> k + "=" + r.getParams().getParam(k))
          .reduce((a, b) -> a + ", " + b).orElse("");
      double s = r.getPrimaryResult().getScore();
      double err = r.getPrimaryResult().getScoreError();
      String unit = r.getPrimaryResult().getScoreUnit();
      score.put(name + "|" + params, s);
      Map<String, Object> row = new LinkedHashMap<>();
      row.put("benchmark", name);
      row.put("params", params);
      row.put("score", Report.round(s));
      row.put("error", Report.round(err));
      row.put("unit", unit);
      rows.add(row);
      md.append(String.format(Locale.ROOT, "| %s | %s | %.3f | %.3f | %s |%n", name, params, s, err, unit));
    }
    for (String width : List.of("64", "1024")) {
      Double fast = score.get("SerdeBenchmarks.deserialize|width=" + width);
      Double avro = score.get("SerdeBenchmarks.deserializeAvroReader|width=" + width);
      if (fast != null && avro != null) {
        ctx.report.add(Figure.of("2", "JMH: deserialize one " + width + "-float LabeledExample (lorastream, with the"
            + " frame and schema cache)", fast, "ns", "Avro's SpecificDatumReader on the same Avro body", avro));
      }
    }
    Double merge = score.get("MergeBenchmarks.merge|model=1024-1024,1024-16");
    Double forward = score.get("MergeBenchmarks.forward|model=1024-1024,1024-16");
    if (merge != null && forward != null) {
      ctx.report.add(Figure.of("4", "JMH: merge a rank-16 adapter into MLP 1024-1024-1024-16", merge, "us",
          "one pure-Java forward of the merged model", forward));
    }
    Map<String, Object> data = new LinkedHashMap<>();
    data.put("file", json.getFileName().toString());
    data.put("results", rows);
    ctx.report.section("jmh", data);
    ctx.report.markdown("JMH micro-benchmarks", md.toString());
  }
}
