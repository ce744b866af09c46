package io.lorastream.launcher;

import io.lorastream.localstack.LocalCluster;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code lorastream local}: a developer's cluster, like {@code confluent local}. Starts the
 * embedded KRaft broker and schema registry, creates the catalog topics, prints one line with the
 * addresses and serves until interrupted. With {@code --data-dir}, a restart keeps everything.
 */
@Command(name = "local", mixinStandardHelpOptions = true,
    description = "Run an embedded Kafka broker and schema registry until interrupted.")
final class LocalCommand implements Callable<Integer> {
  @Option(names = "--kafka-port", defaultValue = "9092", description = "Broker port (0 = any free port). Default: ${DEFAULT-VALUE}.")
  int kafkaPort;

  @Option(names = "--registry-port", defaultValue = "8081", description = "Registry port (0 = any free port). Default: ${DEFAULT-VALUE}.")
  int registryPort;

  @Option(names = "--data-dir", defaultValue = "data/local", description = "Data directory, kept across restarts. Default: ${DEFAULT-VALUE}.")
  Path dataDir;

  @Option(names = "--partitions", defaultValue = "2", description = "Partitions of the data topics. Default: ${DEFAULT-VALUE}.")
  int partitions;

  @Override
  public Integer call() throws Exception {
    CountDownLatch stopped = new CountDownLatch(1);
    LocalCluster cluster = LocalCluster.builder()
        .dataDir(dataDir.toAbsolutePath())
        .kafkaPort(kafkaPort)
        .registryPort(registryPort)
        .partitions(partitions)
        .build();
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      cluster.close();
      stopped.countDown();
    }, "lorastream-local-shutdown"));
    cluster.start();
    System.out.println("bootstrap=" + cluster.bootstrapServers() + " registry=" + cluster.registryUrl());
    System.out.flush();
    stopped.await();
    return 0;
  }
}
