/**
 * Snapshots and deletions on the wire: {@code SnapshotCodec} (encode, verify, sign), the verified
 * {@code DecodedAdapter}, {@code SnapshotMeta}, {@code AdapterDeletion}. The only package of this
 * module besides {@code data} (its example records) that touches the generated Avro types; it maps
 * them to and from the math's own types. Imports {@code model}, {@code adapter}, {@code train} (a
 * learner's progress) and the wire module.
 */
package io.lorastream.lora.snapshot;
