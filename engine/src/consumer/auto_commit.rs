//! `enable.auto.commit`, as Kafka's consumer does it: the positions a
//! consumer commits on its own are those of records earlier polls returned —
//! at the start of a poll once `auto.commit.interval.ms` has passed (the
//! caller is done with the previous poll's records when it polls again),
//! before partitions are revoked, and at [`Consumer::close`]. A crash
//! replays at most the records of one interval again (at least once).
//!
//! As in Kafka, a failed commit at the start of a poll is logged, not
//! returned: the next interval tries again.

use std::time::Instant;

use super::Consumer;
use crate::error::Result;
use crate::log_dir::TopicPartition;
use crate::offsets::OffsetAndMetadata;

impl Consumer {
    /// Whether this consumer commits on its own.
    fn auto_commits(&self) -> bool {
        self.config.enable_auto_commit && self.config.group_id.is_some() && self.offsets.is_some()
    }

    /// At the start of a poll: commits every position when the interval
    /// has passed.
    pub(super) fn maybe_auto_commit(&mut self) {
        if !self.auto_commits()
            || self.last_auto_commit.elapsed() < self.config.auto_commit_interval
        {
            return;
        }
        self.last_auto_commit = Instant::now();
        if let Err(error) = self.commit_sync() {
            log::warn!("auto-commit: {error}");
        }
    }

    /// Before `partitions` are revoked: commits their positions, so their
    /// next owner starts where this member stopped.
    pub(super) fn auto_commit_revoked(&mut self, partitions: &[TopicPartition]) {
        if !self.auto_commits() {
            return;
        }
        let offsets = self
            .assigned
            .iter()
            .filter(|a| a.positioned && partitions.contains(&a.topic_partition))
            .map(|a| {
                (
                    a.topic_partition.clone(),
                    OffsetAndMetadata::new(a.position),
                )
            })
            .collect();
        if let Err(error) = self.commit_offsets(&offsets) {
            log::warn!("auto-commit of revoked partitions: {error}");
        }
    }

    /// At [`Consumer::close`]: a consumer with assigned partitions commits
    /// every position (a member commits through its revocation).
    pub(super) fn auto_commit_on_close(&mut self) -> Result<()> {
        if !self.auto_commits() || self.membership.is_some() {
            return Ok(());
        }
        self.commit_sync()
    }
}
