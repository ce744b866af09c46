package io.lorastream.localstack.registry;

import io.lorastream.registry.CompatibilityLevel;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The registry's semantics, independent of HTTP: global ids, versions per subject, soft and
 * permanent deletes, compatibility levels and checks. Schemas are identified by their canonical
 * form (the parsed schema printed back by Avro), so whitespace or key order never creates a new id,
 * while any real difference (including docs) does, as in Confluent. Every change is first appended
 * to the {@link SchemaStore} and only then applied, so memory never runs ahead of the durable log.
 * All methods are synchronized: the registry is low-traffic and this keeps ids strictly sequential.
 */
final class RegistryState {
  private static final Logger log = LoggerFactory.getLogger(RegistryState.class);

  /** One version of a subject. */
  record Version(String subject, int version, int id, boolean deleted) {
  }

  /** What a version lookup returns to the HTTP layer. */
  record VersionView(String subject, int version, int id, String schema) {
  }

  private final SchemaStore store;
  private final CompatibilityLevel defaultLevel;
  private CompatibilityLevel globalLevel;
  private final Map<String, CompatibilityLevel> subjectLevels = new HashMap<>();
  private final Map<Integer, Schema> schemaById = new HashMap<>();
  private final Map<Integer, String> canonicalById = new HashMap<>();
  private final Map<String, Integer> idByCanonical = new HashMap<>();
  private final TreeMap<String, TreeMap<Integer, Version>> subjects = new TreeMap<>();
  private int maxId;

  RegistryState(SchemaStore store, CompatibilityLevel defaultLevel) {
    this.store = store;
    this.defaultLevel = defaultLevel;
    for (StoreEntry e : store.replay()) {
      apply(e);
    }
  }

  // ------------------------------------------------------------------ reads

  synchronized List<String> subjects(boolean includeDeleted) {
    List<String> out = new ArrayList<>();
    subjects.forEach((s, versions) -> {
      if (includeDeleted || versions.values().stream().anyMatch(v -> !v.deleted())) {
        out.add(s);
      }
    });
    return out;
  }

  synchronized List<Integer> versions(String subject, boolean includeDeleted) {
    List<Integer> out = new ArrayList<>();
    for (Version v : liveOrAll(subject, includeDeleted)) {
      out.add(v.version());
    }
    return out;
  }

  synchronized VersionView version(String subject, String versionText, boolean includeDeleted) {
    Version v = find(subject, versionText, includeDeleted);
    return new VersionView(subject, v.version(), v.id(), canonicalById.get(v.id()));
  }

  /**
   * A schema's GUID: the name-based (MD5, version 3) UUID of its canonical text, so one schema has
   * one GUID in every registry instance, across restarts and subjects.
   */
  static java.util.UUID guidOf(String canonical) {
    return java.util.UUID.nameUUIDFromBytes(canonical.getBytes(java.nio.charset.StandardCharsets.UTF_8));
  }

  /** The canonical schema with GUID {@code guidText} ({@code GET /schemas/guids/{guid}}). */
  synchronized String schemaByGuid(String guidText) {
    java.util.UUID guid;
    try {
      guid = java.util.UUID.fromString(guidText);
    } catch (IllegalArgumentException e) {
      throw RegistryError.schemaNotFound(guidText);
    }
    for (String canonical : canonicalById.values()) {
      if (guidOf(canonical).equals(guid)) {
        return canonical;
      }
    }
    throw RegistryError.schemaNotFound(guidText);
  }

  synchronized String schemaById(int id) {
    String s = canonicalById.get(id);
    if (s == null) {
      throw RegistryError.schemaNotFound(String.valueOf(id));
    }
    return s;
  }

  /** (subject, version) pairs that use schema {@code id}. */
  synchronized List<Version> usagesOf(int id, boolean includeDeleted) {
    if (!canonicalById.containsKey(id)) {
      throw RegistryError.schemaNotFound(String.valueOf(id));
    }
    List<Version> out = new ArrayList<>();
    subjects.values().forEach(vs -> vs.values().forEach(v -> {
      if (v.id() == id && (includeDeleted || !v.deleted())) {
        out.add(v);
      }
    }));
    return out;
  }

  synchronized VersionView lookup(String subject, String schemaText, boolean includeDeleted) {
    Schema schema = parse(schemaText);
    String canonical = schema.toString();
    List<Version> versions = liveOrAll(subject, includeDeleted);
    for (int i = versions.size() - 1; i >= 0; i--) {
      Version v = versions.get(i);
      if (canonicalById.get(v.id()).equals(canonical)) {
        return new VersionView(subject, v.version(), v.id(), canonical);
      }
    }
    throw RegistryError.schemaNotFound("not registered under subject '" + subject + "'");
  }

  synchronized CompatibilityLevel globalLevel() {
    return globalLevel != null ? globalLevel : defaultLevel;
  }

  synchronized Optional<CompatibilityLevel> subjectLevel(String subject) {
    return Optional.ofNullable(subjectLevels.get(subject));
  }

  synchronized CompatibilityLevel effectiveLevel(String subject) {
    CompatibilityLevel l = subjectLevels.get(subject);
    return l != null ? l : globalLevel();
  }

  /**
   * Incompatibilities of {@code schemaText} against one version (when {@code versionText} is
   * non-null) or against what the subject's level requires; empty means compatible.
   */
  synchronized List<String> testCompatibility(String subject, String versionText, String schemaText) {
    Schema candidate = parse(schemaText);
    CompatibilityLevel level = effectiveLevel(subject);
    if (versionText != null) {
      Version v = find(subject, versionText, false);
      return incompatibilities(candidate, List.of(v), level);
    }
    List<Version> live = liveOrAll(subject, false, false);
    return incompatibilities(candidate, level.transitive() || live.isEmpty() ? live : List.of(live.get(live.size() - 1)), level);
  }

  // ------------------------------------------------------------------ writes

  /** Registers a schema under a subject and returns its global id; idempotent. */
  synchronized int register(String subject, String schemaText) {
    Schema schema = parse(schemaText);
    String canonical = schema.toString();
    List<Version> live = liveOrAll(subject, false, false);
    for (Version v : live) {
      if (canonicalById.get(v.id()).equals(canonical)) {
        return v.id();
      }
    }
    CompatibilityLevel level = effectiveLevel(subject);
    List<Version> against = level.transitive() || live.isEmpty() ? live : List.of(live.get(live.size() - 1));
    List<String> problems = incompatibilities(schema, against, level);
    if (!problems.isEmpty()) {
      throw new RegistryError(409, RegistryError.INCOMPATIBLE, "Schema being registered is incompatible with an earlier "
          + "schema for subject \"" + subject + "\" (compatibility " + level + "), details: " + problems);
    }
    Integer existing = idByCanonical.get(canonical);
    int id = existing != null ? existing : maxId + 1;
    TreeMap<Integer, Version> all = subjects.get(subject);
    int version = all == null || all.isEmpty() ? 1 : all.lastKey() + 1;
    commit(new StoreEntry.SchemaVersion(subject, version, id, canonical, false));
    return id;
  }

  /** Soft-deletes (or, after a soft delete, permanently deletes) every version of a subject. */
  synchronized List<Integer> deleteSubject(String subject, boolean permanent) {
    TreeMap<Integer, Version> all = subjects.get(subject);
    if (all == null || all.isEmpty()) {
      throw RegistryError.subjectNotFound(subject);
    }
    List<Integer> deleted = new ArrayList<>();
    if (permanent) {
      if (all.values().stream().anyMatch(v -> !v.deleted())) {
        throw new RegistryError(404, RegistryError.SUBJECT_NOT_SOFT_DELETED,
            "Subject '" + subject + "' was not deleted first before being permanently deleted");
      }
      for (Version v : List.copyOf(all.values())) {
        commit(new StoreEntry.SchemaVersionRemoved(subject, v.version()));
        deleted.add(v.version());
      }
      if (subjectLevels.containsKey(subject)) {
        commit(new StoreEntry.Config(subject, null));
      }
      return deleted;
    }
    if (all.values().stream().allMatch(Version::deleted)) {
      throw new RegistryError(404, RegistryError.SUBJECT_SOFT_DELETED, "Subject '" + subject + "' was soft deleted. "
          + "Set permanent=true to delete permanently");
    }
    for (Version v : List.copyOf(all.values())) {
      if (!v.deleted()) {
        commit(new StoreEntry.SchemaVersion(subject, v.version(), v.id(), canonicalById.get(v.id()), true));
        deleted.add(v.version());
      }
    }
    return deleted;
  }

  /** Soft-deletes (or, after a soft delete, permanently deletes) one version. */
  synchronized int deleteVersion(String subject, String versionText, boolean permanent) {
    Version v = find(subject, versionText, permanent);
    if (permanent) {
      if (!v.deleted()) {
        throw new RegistryError(404, RegistryError.VERSION_NOT_SOFT_DELETED, "Subject '" + subject + "' Version "
            + v.version() + " was not deleted first before being permanently deleted");
      }
      commit(new StoreEntry.SchemaVersionRemoved(subject, v.version()));
    } else {
      commit(new StoreEntry.SchemaVersion(subject, v.version(), v.id(), canonicalById.get(v.id()), true));
    }
    return v.version();
  }

  synchronized CompatibilityLevel setGlobalLevel(CompatibilityLevel level) {
    commit(new StoreEntry.Config(null, level));
    return level;
  }

  synchronized CompatibilityLevel setSubjectLevel(String subject, CompatibilityLevel level) {
    commit(new StoreEntry.Config(subject, level));
    return level;
  }

  synchronized CompatibilityLevel clearSubjectLevel(String subject) {
    CompatibilityLevel previous = subjectLevels.get(subject);
    if (previous == null) {
      throw new RegistryError(404, RegistryError.SUBJECT_LEVEL_CONFIG_NOT_FOUND,
          "Subject '" + subject + "' does not have subject-level compatibility configured");
    }
    commit(new StoreEntry.Config(subject, null));
    return previous;
  }

  // ------------------------------------------------------------------ internals

  private void commit(StoreEntry e) {
    store.append(e); // throws StoreException, leaving memory untouched
    apply(e);
  }

  private void apply(StoreEntry e) {
    if (e instanceof StoreEntry.SchemaVersion v) {
      if (!canonicalById.containsKey(v.id())) {
        Schema parsed;
        try {
          parsed = new Schema.Parser().parse(v.schema());
        } catch (RuntimeException ex) {
          log.warn("ignoring stored version {} of {}: unparseable schema id {}: {}", v.version(), v.subject(), v.id(), ex.toString());
          return;
        }
        String canonical = parsed.toString();
        schemaById.put(v.id(), parsed);
        canonicalById.put(v.id(), canonical);
        idByCanonical.putIfAbsent(canonical, v.id());
      }
      maxId = Math.max(maxId, v.id());
      subjects.computeIfAbsent(v.subject(), k -> new TreeMap<>())
          .put(v.version(), new Version(v.subject(), v.version(), v.id(), v.deleted()));
    } else if (e instanceof StoreEntry.SchemaVersionRemoved r) {
      TreeMap<Integer, Version> vs = subjects.get(r.subject());
      if (vs != null) {
        vs.remove(r.version());
        if (vs.isEmpty()) {
          subjects.remove(r.subject());
        }
      }
    } else if (e instanceof StoreEntry.Config c) {
      if (c.subject() == null) {
        globalLevel = c.level();
      } else if (c.level() == null) {
        subjectLevels.remove(c.subject());
      } else {
        subjectLevels.put(c.subject(), c.level());
      }
    }
  }

  private List<Version> liveOrAll(String subject, boolean includeDeleted) {
    List<Version> out = liveOrAll(subject, includeDeleted, true);
    return out;
  }

  /** Versions of a subject in order; throws 40401 when {@code mustExist} and none are visible. */
  private List<Version> liveOrAll(String subject, boolean includeDeleted, boolean mustExist) {
    TreeMap<Integer, Version> all = subjects.get(subject);
    List<Version> out = new ArrayList<>();
    if (all != null) {
      for (Version v : all.values()) {
        if (includeDeleted || !v.deleted()) {
          out.add(v);
        }
      }
    }
    if (mustExist && out.isEmpty()) {
      throw RegistryError.subjectNotFound(subject);
    }
    return out;
  }

  private Version find(String subject, String versionText, boolean includeDeleted) {
    boolean latest = "latest".equals(versionText) || "-1".equals(versionText);
    int number = 0;
    if (!latest) {
      try {
        number = Integer.parseInt(versionText);
      } catch (NumberFormatException e) {
        throw RegistryError.invalidVersion(versionText);
      }
      if (number < 1) {
        throw RegistryError.invalidVersion(versionText);
      }
    }
    List<Version> visible = liveOrAll(subject, includeDeleted);
    if (latest) {
      return visible.get(visible.size() - 1);
    }
    for (Version v : visible) {
      if (v.version() == number) {
        return v;
      }
    }
    throw RegistryError.versionNotFound(subject, versionText);
  }

  private List<String> incompatibilities(Schema candidate, List<Version> against, CompatibilityLevel level) {
    List<String> out = new ArrayList<>();
    if (level == CompatibilityLevel.NONE) {
      return out;
    }
    for (Version v : against) {
      Schema old = schemaById.get(v.id());
      if (level.backward()) {
        describe(SchemaCompatibility.checkReaderWriterCompatibility(candidate, old), "BACKWARD", v, out);
      }
      if (level.forward()) {
        describe(SchemaCompatibility.checkReaderWriterCompatibility(old, candidate), "FORWARD", v, out);
      }
    }
    return out;
  }

  private static void describe(SchemaCompatibility.SchemaPairCompatibility result, String direction, Version v,
      List<String> out) {
    if (result.getType() == SchemaCompatibility.SchemaCompatibilityType.COMPATIBLE) {
      return;
    }
    for (SchemaCompatibility.Incompatibility i : result.getResult().getIncompatibilities()) {
      out.add("{" + direction + " vs version " + v.version() + ": " + i.getType() + " at '" + i.getLocation() + "': "
          + i.getMessage() + "}");
    }
  }

  private static Schema parse(String text) {
    if (text == null || text.isBlank()) {
      throw RegistryError.invalidSchema("empty schema");
    }
    try {
      return new Schema.Parser().parse(text);
    } catch (RuntimeException e) {
      throw RegistryError.invalidSchema(e.getMessage());
    }
  }
}
