package io.lorastream.experiment.data;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * Writes the ordered stream the spam experiment uses as JSON Lines, one email per line in stream
 * order, so another tool can run on exactly the same examples: {@code index} (stream position,
 * from 0), {@code id}, {@code timestamp} (ISO-8601 UTC), {@code dateSource} (which fallback dated
 * it), {@code group}, {@code label} (1 = spam), {@code split} ({@code pretrain} for the first
 * {@code splitIndex} lines, then {@code stream}), {@code text} (subject, a newline, then the visible
 * body text the tokens come from) and {@code tokens} (the hashed ids the models read, at most the
 * dataset's token cap). The file is written to a temporary sibling and moved into place, so a
 * reader never sees half of it.
 */
public final class SpamExport {
  private static final ObjectMapper JSON = new ObjectMapper();

  private SpamExport() {
  }

  /** Writes {@code ds} to {@code file}; returns the split index (the first streamed line). */
  public static int write(SpamDataset ds, double pretrainFraction, Path file) throws IOException {
    int split = ds.split(pretrainFraction).pretrain().size();
    Path dir = file.toAbsolutePath().getParent();
    Files.createDirectories(dir);
    Path tmp = Files.createTempFile(dir, "." + file.getFileName(), ".tmp");
    try {
      try (BufferedWriter w = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8)) {
        for (int i = 0; i < ds.size(); i++) {
          SpamEmail e = ds.emails().get(i);
          ObjectNode n = JSON.createObjectNode();
          n.put("index", i);
          n.put("id", e.id());
          n.put("timestamp", e.time().toString());
          n.put("dateSource", e.dateSource().name());
          n.put("group", e.group());
          n.put("label", e.label());
          n.put("split", i < split ? "pretrain" : "stream");
          n.put("text", ds.text(i));
          var tokens = n.putArray("tokens");
          for (int t : e.tokens()) {
            tokens.add(t);
          }
          w.write(JSON.writeValueAsString(n));
          w.write('\n');
        }
      }
      Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } finally {
      Files.deleteIfExists(tmp);
    }
    return split;
  }
}
