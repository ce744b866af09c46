/**
 * The rollout controller: the one writer of {@code adapters.control}, which folds snapshots and
 * commands into rollout states with the policy of {@code stream.rollout}, gates candidates on the
 * holdout stream and keeps the retained snapshots that rollback and pinning read. Imports the
 * rollout policy, serving (for the models the gate scores), lora-core, the wire module and common.
 */
package io.lorastream.stream.control;
