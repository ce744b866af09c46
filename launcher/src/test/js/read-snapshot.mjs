// Reads one record of the adapters topic the way README's "Reading the adapters topic from Python"
// section describes, with Confluent's JavaScript Schema Registry client instead of the Python one:
// decode the value (Confluent wire format, schema from the registry), recompute the SHA-256 checksum
// over the documented canonical encoding, check the HMAC-SHA256 signature, and read A and B.
// Usage: node read-snapshot.mjs REGISTRY_URL TOPIC VALUE_FILE HMAC_KEY_HEX
// Prints one JSON object; exits 1 when the checksum or the signature does not verify.
import { createRequire } from 'node:module';
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';

const require = createRequire(process.cwd() + '/');
const { SchemaRegistryClient, AvroDeserializer, SerdeType } = require('@confluentinc/schemaregistry');

const [url, topic, file, keyHex] = process.argv.slice(2);
const client = new SchemaRegistryClient({ baseURLs: [url] });
const deserializer = new AvroDeserializer(client, SerdeType.VALUE, {});
const s = await deserializer.deserialize(topic, readFileSync(file));

// The canonical encoding (SnapshotCodec's javadoc, README): a tag, then every field but checksum and
// signature in schema order; strings as int32 length + UTF-8 (-1 for null), ints/longs big-endian,
// floats and doubles as their IEEE bits, enums by name, bytes length-prefixed, lists count-prefixed,
// the metrics map sorted by key.
const parts = [];
const int32 = (v) => { const b = Buffer.alloc(4); b.writeInt32BE(v); parts.push(b); };
const int64 = (v) => { const b = Buffer.alloc(8); b.writeBigInt64BE(BigInt(v)); parts.push(b); };
const f32 = (v) => { const b = Buffer.alloc(4); b.writeFloatBE(v); parts.push(b); };
const f64 = (v) => { const b = Buffer.alloc(8); b.writeDoubleBE(v); parts.push(b); };
const str = (v) => { if (v == null) { int32(-1); return; } const b = Buffer.from(v, 'utf8'); int32(b.length); parts.push(b); };
const blob = (v) => { if (v == null) { int32(-1); return; } int32(v.length); parts.push(Buffer.from(v)); };
const millis = (v) => (v instanceof Date ? v.getTime() : Number(v));

parts.push(Buffer.from('lorastream.AdapterSnapshot.v1', 'utf8'));
str(s.adapterId); int64(s.version); str(s.baseModelId); str(s.baseFingerprint); int64(millis(s.createdAt));
str(s.trainerId); int64(s.optimizerStep); int64(s.examplesSeen); f32(s.alpha); str(s.scalingMode);
int32(s.layers.length);
for (const l of s.layers) {
  str(l.name); int32(l.rank); int32(l.inFeatures); int32(l.outFeatures); f32(l.alpha); str(l.scaling);
  blob(l.a); blob(l.b);
}
int32(s.sourceOffsets.length);
for (const o of s.sourceOffsets) { str(o.topic); int32(o.partition); int64(o.fromOffset); int64(o.untilOffset); }
const keys = Object.keys(s.metrics).sort();
int32(keys.length);
for (const k of keys) { str(k); f64(s.metrics[k]); }
const checksum = createHash('sha256').update(Buffer.concat(parts)).digest();
const checksumOk = checksum.length === s.checksum.length && timingSafeEqual(checksum, Buffer.from(s.checksum));
const mac = createHmac('sha256', Buffer.from(keyHex, 'hex')).update(Buffer.from(s.checksum)).digest();
const signatureOk = s.signature != null && timingSafeEqual(mac, Buffer.from(s.signature));

// A is (r x in), B is (out x r), row-major float32 little-endian.
const floats = (buf) => { const b = Buffer.from(buf); const out = []; for (let i = 0; i < b.length; i += 4) out.push(b.readFloatLE(i)); return out; };
const layers = s.layers.map((l) => {
  const a = floats(l.a);
  const b = floats(l.b);
  return { name: l.name, rank: l.rank, in: l.inFeatures, out: l.outFeatures, scaling: l.scaling, alpha: l.alpha,
    aLength: a.length, bLength: b.length, aFirst: a[0], aLast: a[a.length - 1], bFirst: b[0], bLast: b[b.length - 1],
    // W' = W + s * B A: element (0, 0) of the update
    delta00: Array.from({ length: l.rank }, (_, k) => b[k] * a[k * l.inFeatures]).reduce((x, y) => x + y, 0)
      * (l.scaling === 'RSLORA' ? l.alpha / Math.sqrt(l.rank) : l.alpha / l.rank) };
});
console.log(JSON.stringify({ adapterId: s.adapterId, version: Number(s.version), checksumOk, signatureOk, layers }));
process.exit(checksumOk && signatureOk ? 0 : 1);
