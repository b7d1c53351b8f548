//! Kafka's offset checkpoint files, written.

use super::*;

/// Writes a Kafka offset checkpoint file (the format of
/// `log-start-offset-checkpoint`, `recovery-point-offset-checkpoint`,
/// `replication-offset-checkpoint`): a line `0` (version), a line with the
/// entry count, then one `topic partition offset` line per entry. Written to
/// `<path>.tmp` and renamed into place, as Kafka does.
pub fn write_offset_checkpoint(path: &Path, entries: &[(&str, i32, i64)]) -> Result<()> {
    let mut text = format!("0\n{}\n", entries.len());
    for (topic, partition, offset) in entries {
        validate_topic(topic)?;
        text.push_str(&format!("{topic} {partition} {offset}\n"));
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    fs::write(&tmp, text).map_err(|e| Error::io(&tmp, e))?;
    fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}

/// Writes `<log_dir>/log-start-offset-checkpoint` with the given
/// `(topic, partition, log start offset)` entries.
pub fn write_log_start_offset_checkpoint(
    log_dir: &Path,
    entries: &[(&str, i32, i64)],
) -> Result<()> {
    write_offset_checkpoint(&log_dir.join(LOG_START_OFFSET_CHECKPOINT), entries)
}
