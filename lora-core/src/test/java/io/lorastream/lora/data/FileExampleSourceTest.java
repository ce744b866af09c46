package io.lorastream.lora.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FileExampleSourceTest {

  @TempDir Path dir;

  @Test
  void readsCsvWithOptionalHeader() throws IOException {
    Path f = Files.writeString(dir.resolve("d.csv"), "f1,f2,f3,label\n0.5,1,-2,1\n\n3,4,5e-1,0\n");
    try (ExampleSource s = ExampleSource.open(f)) {
      assertThat(s.inputSize()).isEqualTo(3);
      List<Example> all = drain(s);
      assertThat(all).hasSize(2);
      assertThat(all.get(0).features()).containsExactly(0.5f, 1f, -2f);
      assertThat(all.get(0).label()).isEqualTo(1);
      assertThat(all.get(1).id()).isEqualTo("d.csv:4");
    }
  }

  @Test
  void readsJsonLines() throws IOException {
    Path f = Files.writeString(dir.resolve("d.jsonl"),
        "{\"features\":[1,2],\"label\":3,\"id\":\"a\"}\n{\"features\":[0.25,-1],\"label\":0}\n");
    try (ExampleSource s = ExampleSource.open(f)) {
      List<Example> all = drain(s);
      assertThat(all).extracting(Example::id).containsExactly("a", "d.jsonl:2");
      assertThat(all.get(1).features()).containsExactly(0.25f, -1f);
      assertThat(all.get(0).label()).isEqualTo(3);
    }
  }

  @Test
  void badRowsNameFileAndLine() throws IOException {
    Path widths = Files.writeString(dir.resolve("w.csv"), "1,2,0\n1,2,3,0\n");
    assertThatThrownBy(() -> drain(ExampleSource.open(widths)))
        .isInstanceOf(ExampleFormatException.class).hasMessageContaining("w.csv:2").hasMessageContaining("3 features");
    Path nan = Files.writeString(dir.resolve("n.csv"), "1,NaN,0\n");
    assertThatThrownBy(() -> ExampleSource.open(nan)).isInstanceOf(ExampleFormatException.class).hasMessageContaining("not finite");
    Path label = Files.writeString(dir.resolve("l.jsonl"), "{\"features\":[1],\"label\":1.5}\n");
    assertThatThrownBy(() -> ExampleSource.open(label)).isInstanceOf(ExampleFormatException.class).hasMessageContaining("integer");
    Path json = Files.writeString(dir.resolve("j.jsonl"), "{\"features\":[1],\"label\":1}\n{oops\n");
    assertThatThrownBy(() -> drain(ExampleSource.open(json))).isInstanceOf(ExampleFormatException.class).hasMessageContaining("j.jsonl:2");
    Path empty = Files.writeString(dir.resolve("e.csv"), "\n");
    assertThatThrownBy(() -> ExampleSource.open(empty)).isInstanceOf(ExampleFormatException.class).hasMessageContaining("no examples");
    assertThatThrownBy(() -> ExampleSource.open(dir.resolve("x.parquet"))).isInstanceOf(IllegalArgumentException.class);
  }

  private static List<Example> drain(ExampleSource s) {
    List<Example> out = new ArrayList<>();
    while (s.hasNext()) {
      out.add(s.next());
    }
    s.close();
    return out;
  }
}
