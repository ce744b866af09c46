package io.lorastream.experiment;

import io.lorastream.experiment.data.MiniLmDataCommand;
import io.lorastream.experiment.data.SpamDataCommand;
import picocli.CommandLine.Command;
import picocli.CommandLine.Spec;

/**
 * {@code lorastream data <dataset>}: fetches and prepares real-world data sets into a git-ignored
 * cache, so experiments run offline afterwards (and pretrained models, for `lorastream base import`). Wiring only; each data set is a subcommand.
 */
@Command(name = "data", mixinStandardHelpOptions = true,
    description = "Fetch and prepare real-world data sets (cached under data/).",
    subcommands = {SpamDataCommand.class, MiniLmDataCommand.class})
public final class DataCommand implements Runnable {
  @Spec picocli.CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(System.out);
  }
}
