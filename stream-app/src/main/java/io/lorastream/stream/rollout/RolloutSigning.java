package io.lorastream.stream.rollout;

import io.lorastream.avro.RolloutCommand;
import io.lorastream.avro.RolloutState;
import io.lorastream.serde.TrustedAvroClasses;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificDatumWriter;
import org.apache.avro.specific.SpecificRecordBase;

/**
 * HMAC-SHA256 signatures of rollout commands and states, with the key that signs snapshots. The
 * signed bytes are the record's Avro binary encoding with its signature null, so any field an
 * attacker changes (the version to promote, the canary share, the pinned version) breaks it. A
 * command is signed by whoever issues it and checked by the controller; a state is signed by the
 * controller and checked by every consumer, so a record written to the control topic by anyone
 * else cannot change what is served.
 */
public final class RolloutSigning {
  static {
    TrustedAvroClasses.install(); // builders deep-copy enums and nested records by class name
  }

  private RolloutSigning() {
  }

  /** What a reader with or without a key makes of one record. */
  public enum Verdict { OK, UNSIGNED, FORGED }

  public static RolloutCommand sign(RolloutCommand c, byte[] key) {
    RolloutCommand copy = RolloutCommand.newBuilder(c).setSignature(null).build();
    if (key != null) {
      copy.setSignature(ByteBuffer.wrap(mac(key, encode(copy))));
    }
    return copy;
  }

  public static RolloutState sign(RolloutState s, byte[] key) {
    RolloutState copy = RolloutState.newBuilder(s).setSignature(null).build();
    if (key != null) {
      copy.setSignature(ByteBuffer.wrap(mac(key, encode(copy))));
    }
    return copy;
  }

  /** OK without a key (nothing to check), else whether the signature is there and right. */
  public static Verdict verify(RolloutCommand c, byte[] key) {
    if (key == null) {
      return Verdict.OK;
    }
    if (c.getSignature() == null) {
      return Verdict.UNSIGNED;
    }
    byte[] expected = mac(key, encode(RolloutCommand.newBuilder(c).setSignature(null).build()));
    return MessageDigest.isEqual(expected, bytes(c.getSignature())) ? Verdict.OK : Verdict.FORGED;
  }

  public static Verdict verify(RolloutState s, byte[] key) {
    if (key == null) {
      return Verdict.OK;
    }
    if (s.getSignature() == null) {
      return Verdict.UNSIGNED;
    }
    byte[] expected = mac(key, encode(RolloutState.newBuilder(s).setSignature(null).build()));
    return MessageDigest.isEqual(expected, bytes(s.getSignature())) ? Verdict.OK : Verdict.FORGED;
  }

  private static byte[] bytes(ByteBuffer b) {
    ByteBuffer d = b.duplicate();
    d.rewind();
    byte[] out = new byte[d.remaining()];
    d.get(out);
    return out;
  }

  @SuppressWarnings("unchecked")
  private static <T extends SpecificRecordBase> byte[] encode(T record) {
    try {
      ByteArrayOutputStream bos = new ByteArrayOutputStream();
      BinaryEncoder enc = EncoderFactory.get().binaryEncoder(bos, null);
      new SpecificDatumWriter<>((Class<T>) record.getClass()).write(record, enc);
      enc.flush();
      return bos.toByteArray();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static byte[] mac(byte[] key, byte[] data) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(key, "HmacSHA256"));
      return mac.doFinal(data);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 unavailable", e);
    }
  }
}
