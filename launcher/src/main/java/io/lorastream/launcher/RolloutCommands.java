package io.lorastream.launcher;

import io.lorastream.avro.RolloutAction;
import io.lorastream.avro.RolloutCommand;
import io.lorastream.avro.RolloutDecision;
import io.lorastream.avro.RolloutState;
import io.lorastream.avro.RolloutVersion;
import io.lorastream.config.CommonConfig;
import io.lorastream.config.LayeredConfig;
import io.lorastream.serde.LorastreamSerdes;
import io.lorastream.stream.control.RolloutClient;
import io.lorastream.stream.inference.InferenceConfig;
import io.lorastream.stream.rollout.RolloutConfig;
import io.lorastream.stream.rollout.RolloutRules;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeoutException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code lorastream adapters promote|reject|rollback|pin|unpin|canary|mode}: rollout commands
 * against any cluster. Each publishes one command (signed with {@code rollout.hmac.key}, or else
 * {@code inference.hmac.key}, when set)
 * and waits for the controller's decision on it: exit 0 when it took effect, 2 when the controller
 * refused it (the reason is printed), 1 when no decision came (no controller, or Kafka failed).
 */
final class RolloutCommands {
  private RolloutCommands() {
  }

  /** The options and the issue-and-wait every rollout command shares. */
  abstract static class Base implements Callable<Integer> {
    @Mixin ServiceOptions service = new ServiceOptions();

    @Option(names = "--adapter", required = true, paramLabel = "ID", description = "Adapter id.")
    String adapter;

    @Option(names = "--reason", paramLabel = "TEXT", description = "Why; recorded with the decision.")
    String reason;

    @Mixin AdaptersCommand.KafkaWait kafkaWait = new AdaptersCommand.KafkaWait();

    @Spec CommandSpec spec;

    abstract RolloutAction action();

    /** Fills in the action's own fields. */
    abstract void fill(RolloutCommand.Builder b);

    @Override
    public Integer call() {
      PrintWriter out = spec.commandLine().getOut();
      PrintWriter err = spec.commandLine().getErr();
      String name = "lorastream adapters " + spec.name();
      if (!adapter.matches("[A-Za-z0-9._-]+")) {
        err.println(name + ": adapter ids are letters, digits, '.', '_' and '-'; got '" + adapter + "'");
        return 2;
      }
      Map<String, String> defaults = new HashMap<>(CommonConfig.DEFAULTS);
      defaults.putAll(RolloutConfig.DEFAULTS);
      LayeredConfig cfg = service.load(defaults, Map.of());
      CommonConfig common = new CommonConfig(cfg);
      RolloutConfig rollout = RolloutConfig.from(cfg, InferenceConfig.HMAC_KEY);
      RolloutCommand.Builder b = RolloutClient.command(adapter, action()).setReason(reason == null ? "" : reason);
      fill(b);
      try (RolloutClient client = new RolloutClient(common, LorastreamSerdes.create(common.registryConfig()),
          rollout.hmacKey(), actor())) {
        RolloutClient.Answer a = client.issue(b, kafkaWait.timeout);
        RolloutDecision d = a.decision();
        if (!a.accepted()) {
          err.println(name + ": refused: " + d.getReason());
          err.flush();
          return 2;
        }
        out.println(describe(a.state(), d));
        out.flush();
        return 0;
      } catch (TimeoutException e) {
        err.println(name + ": " + e.getMessage());
        return 1;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return 1;
      } catch (RuntimeException e) {
        err.println(name + ": " + e.getMessage());
        return 1;
      }
    }
  }

  static String actor() {
    String host;
    try {
      host = InetAddress.getLocalHost().getHostName();
    } catch (java.io.IOException e) {
      host = "unknown-host";
    }
    return System.getProperty("user.name", "unknown") + "@" + host;
  }

  static String describe(RolloutState s, RolloutDecision d) {
    return String.format(Locale.ROOT, "%s %s%s: %s%n%s", s.getAdapterId(), d.getAction(),
        d.getVersion() == null ? "" : " v" + d.getVersion(), d.getReason(), summary(s));
  }

  /** One line: what serves, what waits, mode, canary. */
  static String summary(RolloutState s) {
    StringBuilder b = new StringBuilder();
    b.append(s.getAdapterId()).append(": mode ").append(s.getMode().name().toLowerCase(Locale.ROOT))
        .append(", serving v").append(RolloutRules.served(s));
    if (s.getPinnedVersion() != null) {
      b.append(" (pinned; active v").append(s.getActiveVersion()).append(')');
    }
    if (s.getCandidateVersion() != null) {
      b.append(", candidate v").append(s.getCandidateVersion());
      if (s.getCanaryShare() > 0 || !s.getCanaryConsumers().isEmpty()) {
        b.append(String.format(Locale.ROOT, " on %.1f %% of requests", 100 * s.getCanaryShare()));
        if (!s.getCanaryConsumers().isEmpty()) {
          b.append(" and all of ").append(s.getCanaryConsumers());
        }
      }
    }
    b.append(", retained ").append(RolloutRules.retained(s)).append(", revision ").append(s.getRevision());
    return b.toString();
  }

  /** The versions table of one adapter, newest first, with each version's state and gate figures. */
  static void printVersions(PrintWriter out, RolloutState s) {
    out.println("  version | status | retained | gate");
    List<RolloutVersion> vs = s.getVersions();
    for (int i = vs.size() - 1; i >= 0; i--) {
      RolloutVersion v = vs.get(i);
      String status = v.getStatus().name().toLowerCase(Locale.ROOT).replace('_', ' ');
      if (s.getPinnedVersion() != null && s.getPinnedVersion() == v.getVersion()) {
        status += ", pinned";
      }
      Map<String, Double> f = v.getFigures();
      String gate = f.isEmpty() ? "-" : String.format(Locale.ROOT, "%.4f vs active %.4f on %.0f examples",
          f.getOrDefault("candidate_accuracy", Double.NaN), f.getOrDefault("active_accuracy", Double.NaN),
          f.getOrDefault("gate_examples", Double.NaN));
      out.printf(Locale.ROOT, "  v%d | %s | %s | %s%n", v.getVersion(), status, v.getRetained() ? "yes" : "no", gate);
    }
  }

  /** A command about one version, {@code --version}, defaulting to the candidate. */
  abstract static class OnVersion extends Base {
    @Option(names = "--version", paramLabel = "V", description = "Version (default: the candidate).")
    Long version;

    // --version names an adapter version here, so the inherited -V/--version is not there; --help still is.
    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help message and exit.")
    boolean help;

    @Override
    void fill(RolloutCommand.Builder b) {
      b.setVersion(version);
    }
  }

  @Command(name = "promote", description = {"Promote the candidate (or --version V, a retained version) to active.",
      "Exit codes: 0 promoted, 2 refused (reason on stderr), 1 no answer."})
  static final class Promote extends OnVersion {
    @Override
    RolloutAction action() {
      return RolloutAction.PROMOTE;
    }
  }

  @Command(name = "reject", description = {"Reject the candidate (or --version V, a waiting version): it is never served.",
      "Exit codes: 0 rejected, 2 refused, 1 no answer."})
  static final class Reject extends OnVersion {
    @Override
    RolloutAction action() {
      return RolloutAction.REJECT;
    }
  }

  @Command(name = "rollback", description = {"Serve the version that was active before the current one again (or --to V, "
      + "any retained version; --to 0 is the frozen base). In auto mode the target is also pinned, so that the next "
      + "snapshot does not replace it.", "Exit codes: 0 rolled back, 2 refused, 1 no answer."})
  static final class Rollback extends Base {
    @Option(names = "--to", paramLabel = "V", description = "Target version (default: the previous active one).")
    Long to;

    @Override
    RolloutAction action() {
      return RolloutAction.ROLLBACK;
    }

    @Override
    void fill(RolloutCommand.Builder b) {
      b.setVersion(to);
    }
  }

  @Command(name = "pin", description = {"Serve version V on every consumer, whatever becomes active, until unpinned "
      + "(0 is the frozen base).", "Exit codes: 0 pinned, 2 refused, 1 no answer."})
  static final class Pin extends Base {
    @Parameters(index = "0", paramLabel = "V", description = "Version to pin.")
    long version;

    @Override
    RolloutAction action() {
      return RolloutAction.PIN;
    }

    @Override
    void fill(RolloutCommand.Builder b) {
      b.setVersion(version);
    }
  }

  @Command(name = "unpin", description = {"End a pin: the active version serves again.",
      "Exit codes: 0 unpinned, 2 refused (nothing pinned), 1 no answer."})
  static final class Unpin extends Base {
    @Override
    RolloutAction action() {
      return RolloutAction.UNPIN;
    }

    @Override
    void fill(RolloutCommand.Builder b) {
    }
  }

  @Command(name = "canary", description = {"Let the candidate serve SHARE (0..1) of the requests, chosen by a stable hash "
      + "of the request id, and every request on the --consumers named.", "Exit codes: 0 set, 2 refused, 1 no answer."})
  static final class Canary extends Base {
    @Parameters(index = "0", paramLabel = "SHARE", description = "Share of requests in [0, 1].")
    double share;

    @Option(names = "--consumers", split = ",", paramLabel = "ID", description = "Inference consumer ids that serve the "
        + "candidate to every request.")
    List<String> consumers = List.of();

    @Override
    RolloutAction action() {
      return RolloutAction.CANARY;
    }

    @Override
    void fill(RolloutCommand.Builder b) {
      b.setShare(share).setConsumers(consumers);
    }
  }

  @Command(name = "mode", description = {"Set how the adapter's new snapshots roll out: auto (serve at once), gated (the "
      + "gate scores each candidate on examples.eval) or manual (an operator promotes).",
      "Exit codes: 0 set, 2 refused, 1 no answer."})
  static final class Mode extends Base {
    @Parameters(index = "0", paramLabel = "MODE", description = "auto, gated or manual.")
    String mode;

    @Override
    RolloutAction action() {
      return RolloutAction.MODE;
    }

    @Override
    void fill(RolloutCommand.Builder b) {
      b.setMode(mode);
    }
  }
}
