package io.lorastream.launcher;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;
import picocli.CommandLine.IVersionProvider;

/**
 * The {@code --version} answer of every command: the project version the build wrote into
 * {@code lorastream-version.properties}, and the Java runtime it runs on.
 */
public final class Versions implements IVersionProvider {
  /** The build's project version, or "unknown" when the resource is missing (an unfiltered IDE build). */
  public static String version() {
    try (InputStream in = Versions.class.getResourceAsStream("/lorastream-version.properties")) {
      if (in == null) {
        return "unknown";
      }
      Properties p = new Properties();
      p.load(in);
      String v = p.getProperty("version", "unknown");
      return v.startsWith("${") ? "unknown" : v;
    } catch (IOException e) {
      return "unknown";
    }
  }

  @Override
  public String[] getVersion() {
    return new String[] {"lorastream " + version(), "Java " + System.getProperty("java.version") + " ("
        + System.getProperty("java.vendor") + ")"};
  }
}
