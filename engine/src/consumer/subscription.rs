//! What a consumer reads: `assign`, `subscribe` (as a group member, with
//! rebalances and the listener's callbacks) and the group steps `poll`
//! takes.

use super::*;

impl Consumer {
    /// Subscribes to whole topics. With a `group_id` the consumer joins the
    /// group: `poll` takes part in its rebalances and reads the partitions
    /// the group assigns to it (none until the first poll). Without one,
    /// every partition of the topics is assigned.
    pub fn subscribe<S: AsRef<str>>(&mut self, topics: &[S]) -> Result<()> {
        self.subscribe_inner(topics, None)
    }

    /// [`subscribe`](Self::subscribe), telling `listener` of every rebalance.
    pub fn subscribe_with_listener<S: AsRef<str>>(
        &mut self,
        topics: &[S],
        listener: Box<dyn ConsumerRebalanceListener>,
    ) -> Result<()> {
        self.subscribe_inner(topics, Some(listener))
    }

    pub(super) fn subscribe_inner<S: AsRef<str>>(
        &mut self,
        topics: &[S],
        listener: Option<Box<dyn ConsumerRebalanceListener>>,
    ) -> Result<()> {
        let topics: BTreeSet<&str> = topics.iter().map(AsRef::as_ref).collect();
        let mut partitions = Vec::new();
        let mut counts = BTreeMap::new();
        for topic in &topics {
            let found = self.partitions_for(topic);
            let Some(last) = found.last() else {
                return Err(Error::Config(format!(
                    "topic '{topic}' has no partitions in the log dirs"
                )));
            };
            counts.insert(topic.to_string(), last.partition.saturating_add(1));
            partitions.extend(found);
        }
        let (Some(group), Some(store)) = (self.config.group_id.clone(), self.offsets.clone())
        else {
            self.listener = listener;
            return self.reassign(partitions.into_iter().collect());
        };
        self.unsubscribe()?;
        self.listener = listener;
        self.membership = Some(Membership::join(
            &store,
            MembershipConfig {
                group,
                group_instance_id: self.config.group_instance_id.clone(),
                client_id: self.config.client_id.clone(),
                assignor: self.config.partition_assignment_strategy,
                session_timeout: self.config.session_timeout,
                heartbeat_interval: self.config.heartbeat_interval,
                topics: counts,
            },
        )?);
        self.subscription = topics.iter().map(|t| t.to_string()).collect();
        Ok(())
    }

    /// Leaves the group (after `on_partitions_revoked` for everything owned)
    /// and drops every partition. A dynamic member's partitions go to the
    /// other members at once.
    pub fn unsubscribe(&mut self) -> Result<()> {
        if self.membership.is_some() {
            let owned = self.assignment();
            if !owned.is_empty() {
                self.callback(Callback::Revoked, &owned);
            }
            self.reassign(BTreeSet::new())?;
            if let Some(membership) = self.membership.take() {
                membership.leave()?;
            }
        }
        self.subscription.clear();
        self.listener = None;
        Ok(())
    }

    /// Leaves the group if this member is at its end ([`at_end`]) in the
    /// group's current generation, and says whether it left (`true`
    /// without a group). The check and the leave are one hold of the group
    /// lock, so members that stop at their end (kcat's `-e`) cannot leave
    /// partitions nobody reads: when another member left or died since this
    /// one's last sync, the group rebalances, this member stays, and its
    /// next poll follows the new assignment. The listener is not called:
    /// commit what was delivered first.
    ///
    /// [`at_end`]: Self::at_end
    pub fn leave_at_end(&mut self) -> Result<bool> {
        if !self.at_end() {
            return Ok(false);
        }
        let Some(membership) = self.membership.take() else {
            return Ok(true);
        };
        if let Some(membership) = membership.leave_if_current()? {
            self.membership = Some(membership);
            return Ok(false);
        }
        self.reassign(BTreeSet::new())?;
        self.subscription.clear();
        self.listener = None;
        Ok(true)
    }

    /// The subscribed topics.
    pub fn subscription(&self) -> &[String] {
        &self.subscription
    }

    /// This consumer's member id in its group, once subscribed.
    pub fn member_id(&self) -> Option<&str> {
        self.membership.as_ref().map(Membership::member_id)
    }

    /// The generation of the assignment this member follows (0 before the
    /// first rebalance; `None` without group membership).
    pub fn generation(&self) -> Option<i32> {
        self.membership.as_ref().map(Membership::generation)
    }

    /// Assigns exactly these partitions (Kafka's manual assignment; not
    /// with a subscription). Partitions already assigned keep their
    /// positions; the others start at the group's committed offset, else
    /// where `auto_offset_reset` says. With a group id, commits are refused
    /// while the group has live members (Kafka's standalone consumer).
    pub fn assign(&mut self, partitions: &[TopicPartition]) -> Result<()> {
        if self.membership.is_some() {
            return Err(Error::Config(
                "assign and subscribe are mutually exclusive: unsubscribe first".into(),
            ));
        }
        self.reassign(partitions.iter().cloned().collect())
    }

    /// Makes `partitions` the assignment: kept partitions keep their
    /// positions, new ones start at the committed offset (or the reset
    /// position). Every fetch in flight is dropped.
    pub(super) fn reassign(&mut self, partitions: BTreeSet<TopicPartition>) -> Result<()> {
        let current: BTreeSet<&TopicPartition> =
            self.assigned.iter().map(|a| &a.topic_partition).collect();
        let new: Vec<TopicPartition> = partitions
            .iter()
            .filter(|tp| !current.contains(tp))
            .cloned()
            .collect();
        drop(current);
        let committed = match (&self.offsets, &self.config.group_id) {
            (Some(store), Some(group)) if !new.is_empty() => store.committed(group, &new)?,
            _ => BTreeMap::new(),
        };
        let mut old: BTreeMap<TopicPartition, Assigned> = self
            .assigned
            .drain(..)
            .map(|a| (a.topic_partition.clone(), a))
            .collect();
        let mut assigned = Vec::with_capacity(partitions.len());
        for tp in partitions {
            self.epochs += 1;
            if let Some(mut kept) = old.remove(&tp) {
                kept.epoch = self.epochs;
                kept.at_end = false;
                kept.error = None;
                assigned.push(kept);
                continue;
            }
            let dir =
                self.catalog.get(&tp).cloned().ok_or_else(|| {
                    Error::Config(format!("partition {tp} is not in the log dirs"))
                })?;
            // As Kafka, a partition with no usable offset and no reset policy
            // is not an error until poll: a seek may position it first.
            // Any other failure (a damaged first batch) is raised by poll.
            let (position, error) =
                match self.initial_position(&dir, committed.get(&tp).map(|c| c.offset)) {
                    Ok(position) => (position, None),
                    Err(error) => (None, Some(error)),
                };
            assigned.push(Assigned {
                topic_partition: tp,
                dir,
                position: position.unwrap_or(-1),
                positioned: position.is_some(),
                epoch: self.epochs,
                paused: false,
                at_end: false,
                error,
            });
        }
        self.assigned = assigned;
        self.drop_buffered();
        self.fetcher.send(Command::Assign(
            self.assigned
                .iter()
                .map(|a| (a.dir.clone(), a.positioned.then_some(a.position), a.epoch))
                .collect(),
        ));
        Ok(())
    }

    /// Runs a listener callback with the consumer.
    pub(super) fn callback(&mut self, which: Callback, partitions: &[TopicPartition]) {
        if matches!(which, Callback::Revoked) {
            self.auto_commit_revoked(partitions);
        }
        let Some(mut listener) = self.listener.take() else {
            return;
        };
        self.in_callback = true;
        match which {
            Callback::Revoked => listener.on_partitions_revoked(self, partitions),
            Callback::Assigned => listener.on_partitions_assigned(self, partitions),
            Callback::Lost => listener.on_partitions_lost(self, partitions),
        }
        self.in_callback = false;
        if self.listener.is_none() {
            self.listener = Some(listener);
        }
    }

    /// The group's part of a poll: sync with the group when due (give up
    /// what is revoked or lost), then take the partitions whose previous
    /// owners let go.
    pub(super) fn group_step(&mut self) -> Result<()> {
        let Some(membership) = self.membership.as_mut() else {
            return Ok(());
        };
        let now = Instant::now();
        if membership.sync_due(now) {
            let outcome = membership.sync()?;
            if !outcome.lost.is_empty() {
                let kept: BTreeSet<TopicPartition> = self
                    .assignment()
                    .into_iter()
                    .filter(|tp| !outcome.lost.contains(tp))
                    .collect();
                self.reassign(kept)?;
                self.callback(Callback::Lost, &outcome.lost);
            }
            if !outcome.revoke.is_empty() {
                // Still owned during the callback: it may commit them.
                self.callback(Callback::Revoked, &outcome.revoke);
                let kept: BTreeSet<TopicPartition> = self
                    .assignment()
                    .into_iter()
                    .filter(|tp| !outcome.revoke.contains(tp))
                    .collect();
                self.reassign(kept)?;
                if let Some(membership) = self.membership.as_mut() {
                    membership.release(&outcome.revoke);
                }
            }
            if outcome.new_generation {
                self.next_acquire = now;
            }
        }
        let Some(membership) = self.membership.as_mut() else {
            return Ok(());
        };
        if membership.pending().next().is_none() || now < self.next_acquire {
            return Ok(());
        }
        self.next_acquire = now + ACQUIRE_RETRY;
        let taken = membership.acquire_pending()?;
        if taken.is_empty() {
            return Ok(());
        }
        let (readable, missing): (Vec<TopicPartition>, Vec<TopicPartition>) = taken
            .into_iter()
            .partition(|tp| self.catalog.contains_key(tp));
        for tp in &missing {
            log::warn!("{tp} is assigned to this member but not in its log dirs: not read");
        }
        let mut all: BTreeSet<TopicPartition> = self.assignment().into_iter().collect();
        all.extend(readable.iter().cloned());
        self.reassign(all)?;
        self.callback(Callback::Assigned, &readable);
        Ok(())
    }

    /// Partitions the group assigned to this member that it does not own
    /// yet (their previous owner has not let go).
    pub fn pending_partitions(&self) -> Vec<TopicPartition> {
        self.membership
            .as_ref()
            .map(|m| m.pending().cloned().collect())
            .unwrap_or_default()
    }
}
