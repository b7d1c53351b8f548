//! Group membership without a broker: members are threads or processes that
//! share a state dir, and OS file locks stand in for the group coordinator.
//!
//! - A member holds an exclusive `flock` on its file `members/<member id>`
//!   for as long as it lives. The kernel drops the lock when the process
//!   dies, SIGKILL included, so a dead member is seen at once by the next
//!   member that looks: no lease clock, no coordinator process.
//! - A member's heartbeat thread touches its file every
//!   `heartbeat.interval.ms`; a member whose file is older than its
//!   `session.timeout.ms` (a stopped or hung process still holding its
//!   lock) is evicted: its files are unlinked, so its locks no longer guard
//!   anything, and its commits fail from then on.
//! - A partition's owner holds an exclusive `flock` on `owners/<topic>-<n>`
//!   while it owns it. A member takes a partition only by taking that lock,
//!   so no two members ever read one partition at once, whatever the timing.
//! - Every change of the group's `state` (generation, members, assignment)
//!   happens under the group's lock, the one commits take. Any member that
//!   syncs (every `heartbeat.interval.ms`, from `poll`) reconciles the state
//!   with the live members ([`reconcile`]): the assignment is a pure
//!   function of the members, so which member computes it does not matter.
//! - A commit is accepted only for partitions whose owner lock the
//!   committing member holds on the file that is still in place: Kafka's
//!   fencing, with the lock as the fencing token.
//!
//! The cost is a few small files per group and, per member, a few system
//! calls per heartbeat interval.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::error::{Error, Result};
use crate::group::assignor::Assignor;
use crate::group::state::{reconcile, GroupState, MemberInfo, Reconciled, MAX_GROUP_PARTITIONS};
use crate::log_dir::TopicPartition;
use crate::offsets::{
    create_dir_durable, same_file, sync_dir, write_atomically, GroupLock, OffsetStore,
};

const MEMBERS_DIR: &str = "members";
const OWNERS_DIR: &str = "owners";
const STATE_FILE: &str = "state";
const JOINING_PREFIX: &str = ".joining.";

static UNIQUE: AtomicU64 = AtomicU64::new(0);

/// How a member joins: Kafka's consumer group settings.
#[derive(Debug, Clone)]
pub(crate) struct MembershipConfig {
    pub(crate) group: String,
    pub(crate) group_instance_id: Option<String>,
    pub(crate) client_id: String,
    pub(crate) assignor: Assignor,
    pub(crate) session_timeout: Duration,
    pub(crate) heartbeat_interval: Duration,
    /// Subscribed topics and their partition counts.
    pub(crate) topics: BTreeMap<String, i32>,
}

/// What a sync asks of the consumer.
#[derive(Debug, Default)]
pub(crate) struct SyncOutcome {
    /// Owned partitions to give up now (after `on_partitions_revoked`).
    pub(crate) revoke: Vec<TopicPartition>,
    /// Partitions this member lost without being asked: it was evicted or
    /// its group deleted. Already released; they must not be committed.
    pub(crate) lost: Vec<TopicPartition>,
    /// The generation changed.
    pub(crate) new_generation: bool,
}

/// One member of a group, as long as it is alive.
#[derive(Debug)]
pub(crate) struct Membership {
    store: OffsetStore,
    config: MembershipConfig,
    info: MemberInfo,
    member_path: PathBuf,
    member_file: Arc<File>,
    heartbeat: Option<Heartbeat>,
    /// The generation whose assignment this member follows (0: none yet).
    generation: i32,
    /// This member's partitions in that generation.
    target: BTreeSet<TopicPartition>,
    /// Partitions whose owner lock this member holds.
    owned: BTreeMap<TopicPartition, File>,
    next_sync: Instant,
}

impl Membership {
    /// Joins `config.group`: registers this member (it takes part in the
    /// next rebalance, which its first [`sync`](Self::sync) starts).
    pub(crate) fn join(store: &OffsetStore, config: MembershipConfig) -> Result<Membership> {
        if config.heartbeat_interval.is_zero()
            || config.heartbeat_interval >= config.session_timeout
        {
            return Err(Error::Config(format!(
                "heartbeat.interval.ms ({} ms) must be above 0 and below session.timeout.ms ({} ms)",
                config.heartbeat_interval.as_millis(),
                config.session_timeout.as_millis()
            )));
        }
        if config.group_instance_id.as_deref() == Some("") {
            return Err(Error::Config("group.instance.id must not be empty".into()));
        }
        let partitions: u64 = config
            .topics
            .values()
            .map(|&count| u64::try_from(count).unwrap_or(0))
            .sum();
        if partitions > MAX_GROUP_PARTITIONS {
            return Err(Error::Config(format!(
                "the subscribed topics have {partitions} partitions, over the limit of {MAX_GROUP_PARTITIONS} for a group"
            )));
        }
        let member_id = format!(
            "{}-{}-{}-{:08x}",
            sanitize(&config.client_id),
            std::process::id(),
            UNIQUE.fetch_add(1, Ordering::Relaxed),
            fastrand::u32(..)
        );
        let info = MemberInfo {
            member_id: member_id.clone(),
            group_instance_id: config.group_instance_id.clone(),
            client_id: config.client_id.clone(),
            host: hostname(),
            pid: std::process::id(),
            assignor: config.assignor,
            session_timeout_ms: u64::try_from(config.session_timeout.as_millis())
                .unwrap_or(u64::MAX),
            topics: config.topics.clone(),
        };
        let group_dir = store.group_dir(&config.group)?;
        let members_dir = group_dir.join(MEMBERS_DIR);
        create_dir_durable(&members_dir)?;
        // Written and locked under a temporary name, then renamed: a member
        // file in place is always complete and locked while its member lives.
        let joining = members_dir.join(format!("{JOINING_PREFIX}{member_id}"));
        let member_path = members_dir.join(&member_id);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&joining)
            .map_err(|e| Error::io(&joining, e))?;
        let written = match try_lock(&file) {
            Ok(true) => file
                .write_all(info.render().as_bytes())
                .and_then(|()| file.sync_all()),
            Ok(false) => Err(io::Error::other(
                "a new member file is locked by someone else",
            )),
            Err(e) => Err(e),
        };
        if let Err(e) = written {
            let _ = fs::remove_file(&joining);
            return Err(Error::io(&joining, e));
        }
        let registered = (|| {
            let lock = store
                .lock(&config.group, true)?
                .ok_or_else(|| Error::Config("group dir vanished".into()))?;
            let live: BTreeMap<String, MemberInfo> = scan_live(&lock.dir, None, false)?
                .into_iter()
                .map(|(id, m)| (id, m.info))
                .collect();
            check_joinable(&config, &live)?;
            fs::rename(&joining, &member_path).map_err(|e| Error::io(&member_path, e))?;
            sync_dir(&members_dir)
        })();
        if let Err(e) = registered {
            let _ = fs::remove_file(&joining);
            return Err(e);
        }
        let member_file = Arc::new(file);
        let heartbeat = Heartbeat::start(Arc::clone(&member_file), config.heartbeat_interval)
            .map_err(|e| Error::io(&member_path, e))?;
        log::debug!("group {}: member {member_id} joined", config.group);
        Ok(Membership {
            store: store.clone(),
            config,
            info,
            member_path,
            member_file,
            heartbeat: Some(heartbeat),
            generation: 0,
            target: BTreeSet::new(),
            owned: BTreeMap::new(),
            next_sync: Instant::now(),
        })
    }

    pub(crate) fn member_id(&self) -> &str {
        &self.info.member_id
    }

    pub(crate) fn generation(&self) -> i32 {
        self.generation
    }

    /// Whether a sync is due (every heartbeat interval).
    pub(crate) fn sync_due(&self, now: Instant) -> bool {
        now >= self.next_sync
    }

    /// Makes a sync due now.
    pub(crate) fn sync_now(&mut self) {
        self.next_sync = Instant::now();
    }

    /// When the next sync is due.
    pub(crate) fn next_sync(&self) -> Instant {
        self.next_sync
    }

    /// Assigned in this generation but not yet owned (their previous owner
    /// has not let go yet).
    pub(crate) fn pending(&self) -> impl Iterator<Item = &TopicPartition> {
        self.target
            .iter()
            .filter(|tp| !self.owned.contains_key(*tp))
    }

    /// Reconciles the group with its live members (under the group lock)
    /// and says what this member must give up.
    pub(crate) fn sync(&mut self) -> Result<SyncOutcome> {
        self.next_sync = Instant::now() + self.config.heartbeat_interval;
        let lock = self.group_lock()?;
        if !self.registered()? {
            drop(lock);
            return self.rejoin();
        }
        let (mut state, mut reconciled) = self.reconcile_with_me(&lock)?;
        let Some(me) = state.members.get_mut(&self.info.member_id) else {
            return Err(Error::Config(
                "a live member is missing from the group state".into(),
            ));
        };
        if me.acked_generation != state.generation {
            me.acked_generation = state.generation;
            reconciled.changed = true;
        }
        let target: BTreeSet<TopicPartition> = me.assigned.iter().cloned().collect();
        if reconciled.changed {
            write_state(&lock.dir, &state)?;
        }
        drop(lock);
        let mut outcome = SyncOutcome::default();
        if state.generation != self.generation {
            outcome.new_generation = true;
            outcome.revoke = if self.config.assignor.is_cooperative() {
                self.owned
                    .keys()
                    .filter(|tp| !target.contains(*tp))
                    .cloned()
                    .collect()
            } else {
                // Eager: everything is revoked before the new assignment.
                self.owned.keys().cloned().collect()
            };
            log::debug!(
                "group {}: member {} follows generation {} ({} partitions)",
                self.config.group,
                self.info.member_id,
                state.generation,
                target.len()
            );
            self.generation = state.generation;
            self.target = target;
        }
        Ok(outcome)
    }

    /// This member was evicted or its group deleted: everything it held is
    /// lost, and it joins again under a new member id.
    fn rejoin(&mut self) -> Result<SyncOutcome> {
        log::warn!(
            "group {}: member {} was removed from the group (session timeout or group deleted); rejoining",
            self.config.group,
            self.info.member_id
        );
        let lost: Vec<TopicPartition> = self.owned.keys().cloned().collect();
        self.owned.clear();
        self.target.clear();
        if let Some(heartbeat) = self.heartbeat.take() {
            heartbeat.stop();
        }
        let fresh = Membership::join(&self.store, self.config.clone())?;
        let old = std::mem::replace(self, fresh);
        drop(old);
        let mut outcome = self.sync()?;
        outcome.lost = lost;
        Ok(outcome)
    }

    /// Gives up partitions (after the consumer called `on_partitions_revoked`).
    pub(crate) fn release(&mut self, partitions: &[TopicPartition]) {
        for tp in partitions {
            self.owned.remove(tp);
        }
    }

    /// Takes the owner lock of every pending partition whose previous owner
    /// let go; returns those taken.
    pub(crate) fn acquire_pending(&mut self) -> Result<Vec<TopicPartition>> {
        let pending: Vec<TopicPartition> = self.pending().cloned().collect();
        if pending.is_empty() {
            return Ok(Vec::new());
        }
        let owners = self.store.group_dir(&self.config.group)?.join(OWNERS_DIR);
        create_dir_durable(&owners)?;
        let mut taken = Vec::new();
        for tp in pending {
            let path = owner_path(&owners, &tp);
            if let Some(file) = try_lock_path(&path)? {
                // Who holds it, for an eviction to find (a hint: the lock is
                // what counts; no fsync needed).
                file.set_len(0)
                    .and_then(|()| file.write_all_at(self.info.member_id.as_bytes(), 0))
                    .map_err(|e| Error::io(&path, e))?;
                self.owned.insert(tp.clone(), file);
                taken.push(tp);
            }
        }
        Ok(taken)
    }

    /// Checks, with the group lock held, that this member may commit for
    /// `partitions`: it is still a member and owns each of them.
    pub(crate) fn check_commit<'a>(
        &self,
        lock: &GroupLock,
        partitions: impl IntoIterator<Item = &'a TopicPartition>,
    ) -> Result<()> {
        if !self.registered()? {
            return Err(self.fenced(
                "this member was removed from the group (session timeout or group deleted)",
            ));
        }
        let owners = lock.dir.join(OWNERS_DIR);
        for tp in partitions {
            let held = match self.owned.get(tp) {
                Some(file) => same_inode(file, &owner_path(&owners, tp))?,
                None => false,
            };
            if !held {
                return Err(self.fenced(&format!(
                    "partition {tp} is not owned by this member (generation {}): the group rebalanced and it moved",
                    self.generation
                )));
            }
        }
        Ok(())
    }

    fn fenced(&self, reason: &str) -> Error {
        Error::Group {
            group: self.config.group.clone(),
            reason: format!("commit refused: {reason}"),
        }
    }

    /// Whether this member's file is still the one it locked.
    fn registered(&self) -> Result<bool> {
        same_inode(&self.member_file, &self.member_path)
    }

    /// Leaves the group: releases every partition and, for a dynamic member,
    /// rebalances the others at once (a static member's partitions wait for
    /// it until its session timeout, as in Kafka).
    pub(crate) fn leave(mut self) -> Result<()> {
        self.owned.clear();
        if let Some(heartbeat) = self.heartbeat.take() {
            heartbeat.stop();
        }
        let lock = self.group_lock()?;
        if !self.registered()? {
            return Ok(());
        }
        self.leave_locked(&lock)
    }

    /// Leaves the group only if it has not rebalanced since this member's
    /// last sync and nothing assigned to it is still to be taken over:
    /// checked and done under one hold of the group lock. A member that
    /// stops at its end (kcat's `-e`) leaves this way, so it cannot leave
    /// partitions nobody reads: had another member left in between (giving
    /// this one partitions of a new generation), it stays and reads them.
    /// `Ok(None)` when it left; otherwise the membership, still joined.
    pub(crate) fn leave_if_current(mut self) -> Result<Option<Membership>> {
        let lock = self.group_lock()?;
        if !self.registered()? {
            // Evicted: its next sync rejoins, and reads what it is given.
            drop(lock);
            self.sync_now();
            return Ok(Some(self));
        }
        // Reconciled first, as a sync would: a member that died since the
        // last sync rebalances the group now, and this one stays for it.
        let (state, reconciled) = self.reconcile_with_me(&lock)?;
        if reconciled.changed {
            write_state(&lock.dir, &state)?;
        }
        if state.generation != self.generation || self.pending().next().is_some() {
            drop(lock);
            self.sync_now();
            return Ok(Some(self));
        }
        self.owned.clear();
        if let Some(heartbeat) = self.heartbeat.take() {
            heartbeat.stop();
        }
        self.leave_locked(&lock)?;
        Ok(None)
    }

    fn group_lock(&self) -> Result<GroupLock> {
        self.store
            .lock(&self.config.group, true)?
            .ok_or_else(|| Error::Config("group dir vanished".into()))
    }

    /// The group's state reconciled with its live members, this one
    /// included (the group lock held; not written).
    fn reconcile_with_me(&self, lock: &GroupLock) -> Result<(GroupState, Reconciled)> {
        let mut state = read_state(&lock.dir)?.unwrap_or_default();
        let mut live = live_infos(&lock.dir, Some(&self.info.member_id))?;
        live.insert(self.info.member_id.clone(), self.info.clone());
        let reconciled = reconcile(&mut state, &live, unix_ms(), self.config.assignor);
        Ok((state, reconciled))
    }

    /// Removes this member's file and rebalances the others, with the
    /// group lock held.
    fn leave_locked(&mut self, lock: &GroupLock) -> Result<()> {
        fs::remove_file(&self.member_path).map_err(|e| Error::io(&self.member_path, e))?;
        let mut state = read_state(&lock.dir)?.unwrap_or_default();
        let live = live_infos(&lock.dir, None)?;
        let reconciled = reconcile(&mut state, &live, unix_ms(), self.config.assignor);
        if reconciled.changed {
            write_state(&lock.dir, &state)?;
        }
        sync_dir(&lock.dir.join(MEMBERS_DIR))?;
        log::debug!(
            "group {}: member {} left",
            self.config.group,
            self.info.member_id
        );
        Ok(())
    }
}

impl Drop for Membership {
    fn drop(&mut self) {
        if let Some(heartbeat) = self.heartbeat.take() {
            heartbeat.stop();
        }
    }
}

/// Refuses a member Kafka would refuse: a `group.instance.id` already used
/// by a live member (`FENCED_INSTANCE_ID`), or an assignor other than the
/// one the live members use (`INCONSISTENT_GROUP_PROTOCOL`).
fn check_joinable(config: &MembershipConfig, live: &BTreeMap<String, MemberInfo>) -> Result<()> {
    if let Some(instance) = &config.group_instance_id {
        if let Some(other) = live
            .values()
            .find(|m| m.group_instance_id.as_ref() == Some(instance))
        {
            return Err(Error::Group {
                group: config.group.clone(),
                reason: format!(
                    "group.instance.id {instance:?} is in use by live member {} (pid {})",
                    other.member_id, other.pid
                ),
            });
        }
    }
    if let Some(other) = live.values().find(|m| m.assignor != config.assignor) {
        return Err(Error::Group {
            group: config.group.clone(),
            reason: format!(
                "its members use the {} assignor, this member asks for {} (inconsistent group protocol)",
                other.assignor, config.assignor
            ),
        });
    }
    Ok(())
}

/// A member of the group found in `members/`.
#[derive(Debug, Clone)]
pub(crate) struct LiveMember {
    pub(crate) info: MemberInfo,
    /// When its heartbeat last touched its file.
    pub(crate) heartbeat: SystemTime,
}

/// The live members of the group in `dir` except `me`, with the group lock
/// held: files of dead members and abandoned joins are removed, and hung
/// members evicted.
fn live_infos(dir: &Path, me: Option<&str>) -> Result<BTreeMap<String, MemberInfo>> {
    let mut live = scan_live(dir, me, true)?;
    evict_hung(dir, &mut live);
    Ok(live.into_iter().map(|(id, m)| (id, m.info)).collect())
}

/// The live members of the group in `dir` (their files are locked), except
/// `me`. With `clean`, files of dead members and abandoned joins are
/// removed (the group lock must be held).
pub(crate) fn scan_live(
    dir: &Path,
    me: Option<&str>,
    clean: bool,
) -> Result<BTreeMap<String, LiveMember>> {
    let members_dir = dir.join(MEMBERS_DIR);
    let entries = match fs::read_dir(&members_dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(e) => return Err(Error::io(&members_dir, e)),
    };
    let mut live = BTreeMap::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(&members_dir, e))?;
        let path = entry.path();
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            continue;
        };
        if Some(name) == me {
            continue;
        }
        let file = match File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(Error::io(&path, e)),
        };
        let joining = name.starts_with(JOINING_PREFIX);
        if joining && !is_stale(&file) {
            // A member between creating its file and locking it.
            continue;
        }
        if try_lock(&file).map_err(|e| Error::io(&path, e))? {
            // Nobody holds it: a member that died or a join that never finished.
            if clean {
                match fs::remove_file(&path) {
                    Ok(()) => log::debug!("removed the file of dead member {name}"),
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => log::warn!("cannot remove {}: {e}", path.display()),
                }
            }
            continue;
        }
        if joining {
            continue;
        }
        // Read through the handle the lock was tested on: a member that
        // leaves (or is evicted) unlinks its file, and a second open by
        // path would fail on a file that was live a moment ago.
        let mut bytes = Vec::new();
        (&file)
            .read_to_end(&mut bytes)
            .map_err(|e| Error::io(&path, e))?;
        let info = match MemberInfo::parse(&path, &bytes) {
            Ok(info) if info.member_id == name => info,
            Ok(_) => {
                log::warn!(
                    "{}: member id does not match the file name; ignored",
                    path.display()
                );
                continue;
            }
            Err(e) => {
                log::warn!("{e}; member ignored");
                continue;
            }
        };
        let heartbeat = file
            .metadata()
            .and_then(|m| m.modified())
            .map_err(|e| Error::io(&path, e))?;
        live.insert(info.member_id.clone(), LiveMember { info, heartbeat });
    }
    Ok(live)
}

/// Evicts members that hold their lock but stopped heartbeating for longer
/// than their session timeout (a stopped or hung process): their member
/// file and the owner files of their partitions are unlinked, so the locks
/// they still hold guard nothing and their next commit is refused.
fn evict_hung(dir: &Path, live: &mut BTreeMap<String, LiveMember>) {
    let now = SystemTime::now();
    let hung: Vec<String> = live
        .iter()
        .filter(|(_, member)| {
            let silent = now.duration_since(member.heartbeat).unwrap_or_default();
            silent > Duration::from_millis(member.info.session_timeout_ms)
        })
        .map(|(id, _)| id.clone())
        .collect();
    for id in hung {
        log::warn!("evicting member {id}: no heartbeat within its session timeout");
        let _ = fs::remove_file(dir.join(MEMBERS_DIR).join(&id));
        // Every owner file it took (it may still hold partitions of an
        // older generation than the state's assignment says).
        let owners = dir.join(OWNERS_DIR);
        if let Ok(entries) = fs::read_dir(&owners) {
            for entry in entries.flatten() {
                if fs::read(entry.path()).is_ok_and(|holder| holder == id.as_bytes()) {
                    let _ = fs::remove_file(entry.path());
                }
            }
        }
        live.remove(&id);
    }
}

/// A join file untouched for a minute belongs to a join that died.
fn is_stale(file: &File) -> bool {
    file.metadata()
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .is_some_and(|age| age > Duration::from_secs(60))
}

pub(crate) fn read_state(dir: &Path) -> Result<Option<GroupState>> {
    let path = dir.join(STATE_FILE);
    match fs::read(&path) {
        Ok(bytes) => GroupState::parse(&path, &bytes).map(Some),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(&path, e)),
    }
}

/// Writes the group's state; refused (nothing written) when it would not
/// read back: its partition counts, merged from an older state and the
/// members', add up to more than [`MAX_GROUP_PARTITIONS`].
fn write_state(dir: &Path, state: &GroupState) -> Result<()> {
    let partitions = state.partition_total();
    if partitions > MAX_GROUP_PARTITIONS {
        return Err(Error::InvalidPath {
            path: dir.join(STATE_FILE),
            reason: format!(
                "the group's topics would have {partitions} partitions, over the limit of {MAX_GROUP_PARTITIONS}"
            ),
        });
    }
    write_atomically(dir, &dir.join(STATE_FILE), state.render().as_bytes())
}

/// The number of live members of the group in `dir`.
pub(crate) fn live_member_count(dir: &Path) -> Result<usize> {
    Ok(scan_live(dir, None, false)?.len())
}

fn owner_path(owners: &Path, tp: &TopicPartition) -> PathBuf {
    owners.join(format!(
        "{}-{}",
        crate::offsets::percent_encode(&tp.topic, |b| b.is_ascii_alphanumeric()
            || matches!(b, b'_' | b'-' | b'.')),
        tp.partition
    ))
}

/// Opens (creating) `path` and takes its lock without waiting; `None` when
/// someone holds it. The lock is on the file still at `path`.
fn try_lock_path(path: &Path) -> Result<Option<File>> {
    for _ in 0..8 {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| Error::io(path, e))?;
        if !try_lock(&file).map_err(|e| Error::io(path, e))? {
            return Ok(None);
        }
        if same_inode(&file, path)? {
            return Ok(Some(file));
        }
        // Unlinked (an eviction) between the open and the lock: again.
    }
    Ok(None)
}

fn same_inode(file: &File, path: &Path) -> Result<bool> {
    let held = file.metadata().map_err(|e| Error::io(path, e))?;
    match fs::metadata(path) {
        Ok(current) => Ok(same_file(&held, &current)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Error::io(path, e)),
    }
}

/// Takes `file`'s exclusive lock without waiting: `false` when held elsewhere.
#[cfg(unix)]
fn try_lock(file: &File) -> io::Result<bool> {
    use rustix::fs::{flock, FlockOperation};
    loop {
        match flock(file, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => return Ok(true),
            Err(rustix::io::Errno::WOULDBLOCK) => return Ok(false),
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

#[cfg(not(unix))]
fn try_lock(_file: &File) -> io::Result<bool> {
    Err(io::Error::other("consumer groups need flock (unix)"))
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn hostname() -> String {
    #[cfg(unix)]
    {
        rustix::system::uname()
            .nodename()
            .to_string_lossy()
            .into_owned()
    }
    #[cfg(not(unix))]
    {
        String::from("localhost")
    }
}

/// A client id as part of a member id: letters, digits, `.`, `_`, `-`.
fn sanitize(client_id: &str) -> String {
    let cleaned: String = client_id
        .chars()
        .take(40)
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if cleaned.is_empty() {
        "consumer".into()
    } else {
        cleaned
    }
}

/// Touches the member file every heartbeat interval from a thread of its
/// own, so a member busy in its own code between polls stays alive (as
/// Kafka's heartbeat thread does).
#[derive(Debug)]
struct Heartbeat {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl Heartbeat {
    fn start(file: Arc<File>, interval: Duration) -> io::Result<Heartbeat> {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("kreplay-heartbeat".into())
            .spawn(move || {
                let (lock, wake) = &*flag;
                let Ok(mut stopped) = lock.lock() else {
                    return;
                };
                loop {
                    if *stopped {
                        return;
                    }
                    if let Err(e) = file.set_modified(SystemTime::now()) {
                        log::warn!("heartbeat: {e}");
                    }
                    stopped = match wake.wait_timeout(stopped, interval) {
                        Ok((guard, _)) => guard,
                        Err(_) => return,
                    };
                }
            })?;
        Ok(Heartbeat {
            stop,
            thread: Some(thread),
        })
    }

    fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        let (lock, wake) = &*self.stop;
        if let Ok(mut stopped) = lock.lock() {
            *stopped = true;
        }
        wake.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.halt();
    }
}
