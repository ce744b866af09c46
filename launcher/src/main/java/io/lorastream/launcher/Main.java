package io.lorastream.launcher;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * Entry point of the {@code lorastream} command. Wiring only: each subcommand is its own class,
 * and each service subcommand builds its typed configuration and hands it to the service.
 */
@Command(name = "lorastream", mixinStandardHelpOptions = true, versionProvider = Versions.class,
    // Inherited by every subcommand: --help and --version everywhere, defaults shown in help.
    scope = CommandLine.ScopeType.INHERIT, showDefaultValues = true,
    footer = {"", "Settings: defaults < --config FILE < LORASTREAM_* environment < flags and --set. Every key with its "
        + "default, validation and variable name is in the README, section Settings; unknown keys fail at startup."},
    description = "Streaming continual learning with LoRA adapters on Kafka.",
    subcommands = {
        LocalCommand.class,
        DemoCommand.class,
        PretrainCommand.class,
        BaseCommand.class,
        TrainerCommand.class,
        StreamAppCommand.class,
        InferenceCommand.class,
        ReplayCommand.class,
        TopicsCommand.class,
        AdaptersCommand.class,
        PredictCommand.class,
        io.lorastream.bench.BenchCommand.class,
        io.lorastream.experiment.DataCommand.class,
        io.lorastream.experiment.ExperimentCommand.class,
        CommandLine.HelpCommand.class
    })
public final class Main implements Runnable {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  /** Environment variable choosing the console log format; see logback.xml. */
  static final String LOG_FORMAT = "LORASTREAM_LOG_FORMAT";

  public static void main(String[] args) {
    String why = logFormatProblem(System.getenv(LOG_FORMAT));
    if (why != null) {
      System.err.println("lorastream: " + why);
      System.exit(2);
    }
    System.exit(commandLine().execute(args));
  }

  /** Why a {@value #LOG_FORMAT} value cannot be used, or null when it can (unset means text). */
  static String logFormatProblem(String value) {
    if (value == null || value.equals("text") || value.equals("json")) {
      return null;
    }
    return LOG_FORMAT + "=" + value + " is not a log format. Fix: set it to text (the default) or json (one JSON "
        + "object per line), or unset it.";
  }

  /** The configured picocli command line; tests execute it without exiting the JVM. */
  public static CommandLine commandLine() {
    CommandLine cl = new CommandLine(new Main());
    cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
      if (ex instanceof io.lorastream.config.ConfigException) {
        cmd.getErr().println("lorastream: configuration error: " + ex.getMessage());
        return 2;
      }
      throw ex;
    });
    return cl;
  }

  @Override
  public void run() {
    spec.commandLine().usage(System.out);
  }
}
