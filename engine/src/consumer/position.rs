//! Where a consumer reads: positions, seeks, offset lookups (beginning,
//! end, by time), pausing, and committed offsets.

use super::*;

impl Consumer {
    /// Where a newly assigned partition starts: `committed` when it is in
    /// the log, else the reset position; `None` when there is no reset
    /// policy. A segment that retention deletes between listing and
    /// reading makes it list the partition again.
    pub(super) fn initial_position(
        &self,
        dir: &PartitionDir,
        committed: Option<i64>,
    ) -> Result<Option<i64>> {
        const RETENTION_RETRIES: usize = 8;
        let mut attempt = 0;
        loop {
            let found = Partition::open(dir, self.config.read_options()).and_then(|partition| {
                match committed {
                    Some(offset) => self.valid_or_reset(&partition, offset),
                    None => self.reset_position(&partition),
                }
            });
            match found {
                Ok(position) => return Ok(Some(position)),
                Err(Error::Config(_)) if self.config.auto_offset_reset == AutoOffsetReset::None => {
                    return Ok(None)
                }
                Err(error) if is_not_found(&error) && attempt < RETENTION_RETRIES => attempt += 1,
                Err(error) => return Err(error),
            }
        }
    }

    /// The assigned partitions.
    pub fn assignment(&self) -> Vec<TopicPartition> {
        self.assigned
            .iter()
            .map(|a| a.topic_partition.clone())
            .collect()
    }

    pub(super) fn reset_position(&self, partition: &Partition) -> Result<i64> {
        match self.config.auto_offset_reset {
            AutoOffsetReset::Earliest => partition.log_start_offset(),
            AutoOffsetReset::Latest => partition.log_end_offset(),
            AutoOffsetReset::None => Err(Error::Config(format!(
                "no committed offset for {} and auto_offset_reset is none",
                partition.topic_partition()
            ))),
        }
    }

    /// `offset` when it is within [log start, log end], else the reset
    /// position (Kafka's out-of-range handling).
    pub(super) fn valid_or_reset(&self, partition: &Partition, offset: i64) -> Result<i64> {
        let start = partition.log_start_offset()?;
        let end = partition.log_end_offset()?;
        if (start..=end).contains(&offset) {
            Ok(offset)
        } else {
            log::info!(
                "{}: offset {offset} is out of range [{start}, {end}]; resetting ({:?})",
                partition.topic_partition(),
                self.config.auto_offset_reset
            );
            self.reset_position(partition).map_err(|_| {
                Error::Config(format!(
                    "offset {offset} of {} is out of range [{start}, {end}] and auto_offset_reset is none",
                    partition.topic_partition()
                ))
            })
        }
    }

    pub(super) fn index_of(&self, tp: &TopicPartition) -> Result<usize> {
        self.assigned
            .iter()
            .position(|a| &a.topic_partition == tp)
            .ok_or_else(|| Error::Config(format!("partition {tp} is not assigned")))
    }

    /// The next offset `poll` returns for `tp`.
    pub fn position(&self, tp: &TopicPartition) -> Result<i64> {
        let assigned = &self.assigned[self.index_of(tp)?];
        if !assigned.positioned {
            return Err(no_offset(tp));
        }
        Ok(assigned.position)
    }

    /// Moves `tp`'s position: the next poll returns records from `offset`
    /// (the next existing record at or after it). An offset outside the log
    /// follows `auto_offset_reset`, as a fetch out of range does in Kafka.
    pub fn seek(&mut self, tp: &TopicPartition, offset: i64) -> Result<()> {
        let index = self.index_of(tp)?;
        let partition = Partition::open(&self.assigned[index].dir, self.config.read_options())?;
        let offset = self.valid_or_reset(&partition, offset)?;
        self.set_position(index, offset);
        Ok(())
    }

    pub(super) fn set_position(&mut self, index: usize, offset: i64) {
        let assigned = &mut self.assigned[index];
        assigned.position = offset;
        assigned.positioned = true;
        self.epochs += 1;
        assigned.epoch = self.epochs;
        assigned.at_end = false;
        assigned.error = None;
        let epoch = assigned.epoch;
        self.drop_buffered_of(index);
        self.fetcher.send(Command::Seek {
            index,
            offset,
            epoch,
        });
    }

    /// Seeks to the log start offsets.
    pub fn seek_to_beginning(&mut self, partitions: &[TopicPartition]) -> Result<()> {
        for (tp, offset) in self.beginning_offsets(partitions)? {
            self.seek(&tp, offset)?;
        }
        Ok(())
    }

    /// Seeks to the log end offsets.
    pub fn seek_to_end(&mut self, partitions: &[TopicPartition]) -> Result<()> {
        for (tp, offset) in self.end_offsets(partitions)? {
            self.seek(&tp, offset)?;
        }
        Ok(())
    }

    pub(super) fn open_partition(&self, tp: &TopicPartition) -> Result<Partition> {
        let dir = self
            .catalog
            .get(tp)
            .ok_or_else(|| Error::Config(format!("partition {tp} is not in the log dirs")))?;
        Partition::open(dir, self.config.read_options())
    }

    /// Log start offsets (Kafka's `beginningOffsets`).
    pub fn beginning_offsets(
        &self,
        partitions: &[TopicPartition],
    ) -> Result<BTreeMap<TopicPartition, i64>> {
        partitions
            .iter()
            .map(|tp| Ok((tp.clone(), self.open_partition(tp)?.log_start_offset()?)))
            .collect()
    }

    /// Log end offsets (Kafka's `endOffsets`).
    pub fn end_offsets(
        &self,
        partitions: &[TopicPartition],
    ) -> Result<BTreeMap<TopicPartition, i64>> {
        partitions
            .iter()
            .map(|tp| Ok((tp.clone(), self.open_partition(tp)?.log_end_offset()?)))
            .collect()
    }

    /// Kafka's `offsetsForTimes`: per partition, the first record with a
    /// timestamp >= the given one (`None` when there is none).
    pub fn offsets_for_times(
        &self,
        timestamps: &BTreeMap<TopicPartition, i64>,
    ) -> Result<BTreeMap<TopicPartition, Option<crate::partition::TimestampAndOffset>>> {
        timestamps
            .iter()
            .map(|(tp, &ts)| {
                Ok((
                    tp.clone(),
                    self.open_partition(tp)?.offset_for_timestamp(ts)?,
                ))
            })
            .collect()
    }

    /// Stops returning records of these partitions until resumed.
    pub fn pause(&mut self, partitions: &[TopicPartition]) -> Result<()> {
        self.set_paused(partitions, true)
    }

    /// Resumes paused partitions.
    pub fn resume(&mut self, partitions: &[TopicPartition]) -> Result<()> {
        self.set_paused(partitions, false)
    }

    /// The paused partitions.
    pub fn paused(&self) -> Vec<TopicPartition> {
        self.assigned
            .iter()
            .filter(|a| a.paused)
            .map(|a| a.topic_partition.clone())
            .collect()
    }

    pub(super) fn set_paused(&mut self, partitions: &[TopicPartition], paused: bool) -> Result<()> {
        for tp in partitions {
            let index = self.index_of(tp)?;
            self.assigned[index].paused = paused;
            self.fetcher.send(Command::Pause { index, paused });
        }
        Ok(())
    }

    /// Commits the current positions of every assigned partition for the
    /// group ("next offset to read", as Kafka).
    pub fn commit_sync(&mut self) -> Result<()> {
        let offsets: BTreeMap<TopicPartition, OffsetAndMetadata> = self
            .assigned
            .iter()
            .filter(|a| a.positioned)
            .map(|a| {
                (
                    a.topic_partition.clone(),
                    OffsetAndMetadata::new(a.position),
                )
            })
            .collect();
        self.commit_offsets(&offsets)
    }

    /// Commits the given offsets for the group.
    pub fn commit_offsets(
        &mut self,
        offsets: &BTreeMap<TopicPartition, OffsetAndMetadata>,
    ) -> Result<()> {
        let (Some(store), Some(group)) = (&self.offsets, &self.config.group_id) else {
            return Err(Error::Config(
                "commit needs a group id and a state dir".into(),
            ));
        };
        let Some(lock) = store.lock(group, true)? else {
            return Err(Error::Config("group dir vanished".into()));
        };
        match &self.membership {
            Some(membership) => membership.check_commit(&lock, offsets.keys())?,
            None => crate::group::refuse_live_members(
                group,
                &lock.dir,
                "a consumer with a manual assignment cannot commit",
            )?,
        }
        store.commit_locked(&lock, offsets)
    }

    /// The group's committed offsets for these partitions.
    pub fn committed(
        &self,
        partitions: &[TopicPartition],
    ) -> Result<BTreeMap<TopicPartition, OffsetAndMetadata>> {
        let (Some(store), Some(group)) = (&self.offsets, &self.config.group_id) else {
            return Err(Error::Config(
                "committed offsets need a group id and a state dir".into(),
            ));
        };
        store.committed(group, partitions)
    }
}
