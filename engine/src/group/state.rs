//! The files a consumer group keeps in its directory of the state dir, and
//! the one pure function that decides a rebalance ([`reconcile`]).
//!
//! ```text
//! groups/<group>/
//!   offsets, offsets.lock     committed offsets, and the group's lock (offsets.rs)
//!   state                     generation, protocol, members and their assignments
//!   members/<member id>       one file per member, flock'ed by it while it lives
//!   owners/<topic>-<n>        one file per partition, flock'ed by its current owner
//! ```
//!
//! Both files are line-oriented text, every field percent-encoded so that no
//! field holds a space, a comma or a colon:
//!
//! ```text
//! kreplay-member 1                      kreplay-group 1
//! member <member id>                    generation <n>
//! instance <id> | -                     protocol <assignor> | -
//! client <id>                           topic <topic> <partition count>
//! host <name>                           member <id> <instance|-> <acked generation>
//! pid <n>                                      <session ms> <departed ms|-> <client>
//! assignor <name>                              <host> <pid> <topics|-> <assigned|->
//! session-timeout-ms <n>
//! topic <topic> <partition count>
//! ```
//!
//! (one `member` line per member in the state file; `topics` is a
//! comma-separated list, `assigned` a comma-separated list of `topic:n`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::error::{Error, Result};
use crate::group::assignor::{Assignor, Subscription};
use crate::log_dir::TopicPartition;
use crate::offsets::{parse_digits, percent_decode, percent_encode, short};

const MEMBER_MAGIC: &str = "kreplay-member 1";
const STATE_MAGIC: &str = "kreplay-group 1";

/// The most partitions a group's topics may add up to, in a member file or
/// the state file: the assignors allocate per partition, so a damaged count
/// (`topic t 2000000000`) must be refused, not assigned. Far above any
/// topic a broker's log dirs hold.
pub(crate) const MAX_GROUP_PARTITIONS: u64 = 1 << 20;

/// Adds `count` to a running total of partitions; `None` past the limit.
fn add_partitions(total: &mut u64, count: i32) -> Option<()> {
    *total = total.saturating_add(u64::try_from(count).ok()?);
    (*total <= MAX_GROUP_PARTITIONS).then_some(())
}

/// Bytes kept as they are in an encoded field. `-`, `=`, `,`, `:` and space
/// are always escaped, so `-` alone can stand for "none".
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'.'
}

fn encode(text: &str) -> String {
    if text.is_empty() {
        "=".to_string()
    } else {
        percent_encode(text, is_token_byte)
    }
}

fn decode(token: &str) -> Option<String> {
    match token {
        "=" => Some(String::new()),
        "" | "-" => None,
        _ => percent_decode(token),
    }
}

fn encode_opt(text: Option<&str>) -> String {
    text.map_or_else(|| "-".to_string(), encode)
}

fn decode_opt(token: &str) -> Option<Option<String>> {
    if token == "-" {
        Some(None)
    } else {
        decode(token).map(Some)
    }
}

fn encode_partitions(partitions: &[TopicPartition]) -> String {
    if partitions.is_empty() {
        return "-".to_string();
    }
    let parts: Vec<String> = partitions
        .iter()
        .map(|tp| format!("{}:{}", encode(&tp.topic), tp.partition))
        .collect();
    parts.join(",")
}

fn decode_partitions(token: &str) -> Option<Vec<TopicPartition>> {
    if token == "-" {
        return Some(Vec::new());
    }
    token
        .split(',')
        .map(|part| {
            let (topic, partition) = part.rsplit_once(':')?;
            let topic = decode(topic).filter(|t| !t.is_empty())?;
            Some(TopicPartition::new(topic, parse_digits::<i32>(partition)?))
        })
        .collect()
}

fn encode_topics(topics: &[String]) -> String {
    if topics.is_empty() {
        return "-".to_string();
    }
    let parts: Vec<String> = topics.iter().map(|t| encode(t)).collect();
    parts.join(",")
}

fn decode_topics(token: &str) -> Option<Vec<String>> {
    if token == "-" {
        return Some(Vec::new());
    }
    token
        .split(',')
        .map(|t| decode(t).filter(|t| !t.is_empty()))
        .collect()
}

/// A member as it describes itself in `members/<member id>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MemberInfo {
    pub(crate) member_id: String,
    pub(crate) group_instance_id: Option<String>,
    pub(crate) client_id: String,
    pub(crate) host: String,
    pub(crate) pid: u32,
    pub(crate) assignor: Assignor,
    pub(crate) session_timeout_ms: u64,
    /// Subscribed topics and their partition counts as this member sees them.
    pub(crate) topics: BTreeMap<String, i32>,
}

impl MemberInfo {
    pub(crate) fn render(&self) -> String {
        let mut out = format!(
            "{MEMBER_MAGIC}\nmember {}\ninstance {}\nclient {}\nhost {}\npid {}\nassignor {}\nsession-timeout-ms {}\n",
            encode(&self.member_id),
            encode_opt(self.group_instance_id.as_deref()),
            encode(&self.client_id),
            encode(&self.host),
            self.pid,
            self.assignor.name(),
            self.session_timeout_ms,
        );
        for (topic, count) in &self.topics {
            out.push_str(&format!("topic {} {count}\n", encode(topic)));
        }
        out
    }

    pub(crate) fn parse(path: &Path, bytes: &[u8]) -> Result<MemberInfo> {
        let bad = |line: usize, what: String| Error::InvalidPath {
            path: path.to_path_buf(),
            reason: format!("malformed group member file at line {line}: {what}"),
        };
        let text = std::str::from_utf8(bytes).map_err(|_| bad(1, "not utf-8".into()))?;
        let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l));
        match lines.next() {
            Some((_, MEMBER_MAGIC)) => {}
            other => {
                return Err(bad(
                    1,
                    format!(
                        "expected {MEMBER_MAGIC:?}, found {:?}",
                        short(other.map_or("", |(_, l)| l))
                    ),
                ))
            }
        }
        let mut fields: BTreeMap<&str, (usize, &str)> = BTreeMap::new();
        let mut topics = BTreeMap::new();
        let mut partitions = 0;
        for (n, line) in lines {
            let (key, value) = line
                .split_once(' ')
                .ok_or_else(|| bad(n, format!("expected 'key value', found {:?}", short(line))))?;
            if key == "topic" {
                let (topic, count) = value
                    .split_once(' ')
                    .and_then(|(t, c)| {
                        Some((
                            decode(t).filter(|t| !t.is_empty())?,
                            parse_digits::<i32>(c)?,
                        ))
                    })
                    .ok_or_else(|| bad(n, format!("bad topic line {:?}", short(line))))?;
                add_partitions(&mut partitions, count).ok_or_else(|| {
                    bad(n, format!("over {MAX_GROUP_PARTITIONS} partitions in all"))
                })?;
                topics.insert(topic, count);
            } else if fields.insert(key, (n, value)).is_some() {
                return Err(bad(n, format!("a second {key:?} line")));
            }
        }
        let mut field = |key: &str| {
            fields
                .remove(key)
                .ok_or_else(|| bad(0, format!("no {key:?} line")))
        };
        let (n, member_id) = field("member")?;
        let member_id = decode(member_id)
            .filter(|m| !m.is_empty())
            .ok_or_else(|| bad(n, "bad member id".into()))?;
        let (n, instance) = field("instance")?;
        let group_instance_id =
            decode_opt(instance).ok_or_else(|| bad(n, "bad instance id".into()))?;
        let (n, client) = field("client")?;
        let client_id = decode(client).ok_or_else(|| bad(n, "bad client id".into()))?;
        let (n, host) = field("host")?;
        let host = decode(host).ok_or_else(|| bad(n, "bad host".into()))?;
        let (n, pid) = field("pid")?;
        let pid = parse_digits::<u32>(pid).ok_or_else(|| bad(n, "bad pid".into()))?;
        let (n, assignor) = field("assignor")?;
        let assignor = assignor
            .parse::<Assignor>()
            .map_err(|e| bad(n, e.to_string()))?;
        let (n, timeout) = field("session-timeout-ms")?;
        let session_timeout_ms =
            parse_digits::<u64>(timeout).ok_or_else(|| bad(n, "bad session timeout".into()))?;
        if let Some((key, (n, _))) = fields.into_iter().next() {
            return Err(bad(n, format!("unknown key {:?}", short(key))));
        }
        Ok(MemberInfo {
            member_id,
            group_instance_id,
            client_id,
            host,
            pid,
            assignor,
            session_timeout_ms,
            topics,
        })
    }
}

/// One member of the group's state: live when it last synced, or a static
/// member that left (`departed_ms`) whose partitions are held for it until
/// its session timeout passes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MemberEntry {
    pub(crate) group_instance_id: Option<String>,
    /// The last generation this member adopted.
    pub(crate) acked_generation: i32,
    pub(crate) session_timeout_ms: u64,
    /// When a static member left (unix ms).
    pub(crate) departed_ms: Option<u64>,
    pub(crate) client_id: String,
    pub(crate) host: String,
    pub(crate) pid: u32,
    pub(crate) topics: Vec<String>,
    pub(crate) assigned: Vec<TopicPartition>,
}

impl MemberEntry {
    fn of(info: &MemberInfo) -> MemberEntry {
        MemberEntry {
            group_instance_id: info.group_instance_id.clone(),
            acked_generation: 0,
            session_timeout_ms: info.session_timeout_ms,
            departed_ms: None,
            client_id: info.client_id.clone(),
            host: info.host.clone(),
            pid: info.pid,
            topics: info.topics.keys().cloned().collect(),
            assigned: Vec::new(),
        }
    }
}

/// The group's `state` file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct GroupState {
    /// Bumped by every rebalance; 0 before the first.
    pub(crate) generation: i32,
    /// The assignor of the current generation.
    pub(crate) protocol: Option<Assignor>,
    /// Partition counts of every topic a member subscribes to.
    pub(crate) partitions_per_topic: BTreeMap<String, i32>,
    pub(crate) members: BTreeMap<String, MemberEntry>,
}

impl GroupState {
    /// The partitions of every topic, added up.
    pub(crate) fn partition_total(&self) -> u64 {
        self.partitions_per_topic
            .values()
            .map(|&count| u64::try_from(count).unwrap_or(0))
            .sum()
    }

    pub(crate) fn render(&self) -> String {
        let mut out = format!(
            "{STATE_MAGIC}\ngeneration {}\nprotocol {}\n",
            self.generation,
            self.protocol.map_or("-", Assignor::name)
        );
        for (topic, count) in &self.partitions_per_topic {
            out.push_str(&format!("topic {} {count}\n", encode(topic)));
        }
        for (id, m) in &self.members {
            out.push_str(&format!(
                "member {} {} {} {} {} {} {} {} {} {}\n",
                encode(id),
                encode_opt(m.group_instance_id.as_deref()),
                m.acked_generation,
                m.session_timeout_ms,
                m.departed_ms
                    .map_or_else(|| "-".to_string(), |d| d.to_string()),
                encode(&m.client_id),
                encode(&m.host),
                m.pid,
                encode_topics(&m.topics),
                encode_partitions(&m.assigned),
            ));
        }
        out
    }

    pub(crate) fn parse(path: &Path, bytes: &[u8]) -> Result<GroupState> {
        let bad = |line: usize, what: String| Error::InvalidPath {
            path: path.to_path_buf(),
            reason: format!("malformed group state file at line {line}: {what}"),
        };
        let text = std::str::from_utf8(bytes).map_err(|_| bad(1, "not utf-8".into()))?;
        let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l));
        match lines.next() {
            Some((_, STATE_MAGIC)) => {}
            other => {
                return Err(bad(
                    1,
                    format!(
                        "expected {STATE_MAGIC:?}, found {:?}",
                        short(other.map_or("", |(_, l)| l))
                    ),
                ))
            }
        }
        let mut state = GroupState::default();
        let (mut generation, mut protocol) = (None, None);
        let mut partitions = 0;
        for (n, line) in lines {
            let fields: Vec<&str> = line.split(' ').collect();
            match fields.as_slice() {
                ["generation", g] if generation.is_none() => {
                    generation = Some(
                        parse_digits::<i32>(g).ok_or_else(|| bad(n, "bad generation".into()))?,
                    );
                }
                ["protocol", p] if protocol.is_none() => {
                    protocol = Some(match *p {
                        "-" => None,
                        name => Some(
                            name.parse::<Assignor>()
                                .map_err(|e| bad(n, e.to_string()))?,
                        ),
                    });
                }
                ["topic", topic, count] => {
                    let topic = decode(topic)
                        .filter(|t| !t.is_empty())
                        .ok_or_else(|| bad(n, "bad topic".into()))?;
                    let count = parse_digits::<i32>(count)
                        .ok_or_else(|| bad(n, "bad partition count".into()))?;
                    add_partitions(&mut partitions, count).ok_or_else(|| {
                        bad(n, format!("over {MAX_GROUP_PARTITIONS} partitions in all"))
                    })?;
                    state.partitions_per_topic.insert(topic, count);
                }
                ["member", id, instance, acked, session, departed, client, host, pid, topics, assigned] =>
                {
                    let id = decode(id)
                        .filter(|m| !m.is_empty())
                        .ok_or_else(|| bad(n, "bad member id".into()))?;
                    let entry = MemberEntry {
                        group_instance_id: decode_opt(instance)
                            .ok_or_else(|| bad(n, "bad instance id".into()))?,
                        acked_generation: parse_digits::<i32>(acked)
                            .ok_or_else(|| bad(n, "bad acked generation".into()))?,
                        session_timeout_ms: parse_digits::<u64>(session)
                            .ok_or_else(|| bad(n, "bad session timeout".into()))?,
                        departed_ms: match *departed {
                            "-" => None,
                            d => Some(
                                parse_digits::<u64>(d)
                                    .ok_or_else(|| bad(n, "bad departure time".into()))?,
                            ),
                        },
                        client_id: decode(client).ok_or_else(|| bad(n, "bad client id".into()))?,
                        host: decode(host).ok_or_else(|| bad(n, "bad host".into()))?,
                        pid: parse_digits::<u32>(pid).ok_or_else(|| bad(n, "bad pid".into()))?,
                        topics: decode_topics(topics)
                            .ok_or_else(|| bad(n, "bad topic list".into()))?,
                        assigned: decode_partitions(assigned)
                            .ok_or_else(|| bad(n, "bad partition list".into()))?,
                    };
                    if state.members.insert(id, entry).is_some() {
                        return Err(bad(n, "a second line for one member".into()));
                    }
                }
                _ => return Err(bad(n, format!("unexpected line {:?}", short(line)))),
            }
        }
        state.generation = generation.ok_or_else(|| bad(0, "no generation line".into()))?;
        state.protocol = protocol.ok_or_else(|| bad(0, "no protocol line".into()))?;
        Ok(state)
    }
}

/// What [`reconcile`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Reconciled {
    /// The state changed and must be written.
    pub(crate) changed: bool,
    /// A new generation with a new assignment.
    pub(crate) rebalanced: bool,
}

/// Brings `state` in line with the members alive now (`live`, by member id)
/// at `now_ms`, as Kafka's group coordinator does when members join, leave
/// or time out:
///
/// - a dynamic member no longer alive is removed, and the group rebalances;
/// - a static member no longer alive is marked departed and keeps its
///   partitions (nobody reads them) until its session timeout passes, then
///   is removed and the group rebalances;
/// - a new member with the `group.instance.id` of a departed one takes its
///   place and its partitions without a rebalance (unless it subscribes to
///   other topics);
/// - any other new member, or a changed subscription, rebalances.
///
/// A rebalance bumps the generation and assigns with `assignor`, each member
/// reporting what it was assigned as owned (for the sticky assignors).
/// `cooperative-sticky` is given its final (sticky) target at once: the
/// ownership locks sequence the hand-over, so the two rounds of Kafka's
/// protocol collapse into one in which only moved partitions are revoked.
pub(crate) fn reconcile(
    state: &mut GroupState,
    live: &BTreeMap<String, MemberInfo>,
    now_ms: u64,
    assignor: Assignor,
) -> Reconciled {
    let mut result = Reconciled::default();
    let mut rebalance = false;
    // Members gone.
    let ids: Vec<String> = state.members.keys().cloned().collect();
    for id in ids {
        if live.contains_key(&id) {
            continue;
        }
        let Some(entry) = state.members.get_mut(&id) else {
            continue;
        };
        match (entry.group_instance_id.is_some(), entry.departed_ms) {
            (true, None) => {
                entry.departed_ms = Some(now_ms);
                result.changed = true;
            }
            (true, Some(since)) if now_ms.saturating_sub(since) <= entry.session_timeout_ms => {}
            _ => {
                state.members.remove(&id);
                rebalance = true;
            }
        }
    }
    // Members new, back, or with another subscription.
    for (id, info) in live {
        let topics: Vec<String> = info.topics.keys().cloned().collect();
        if let Some(entry) = state.members.get_mut(id) {
            if entry.departed_ms.take().is_some() {
                result.changed = true;
            }
            if entry.topics != topics {
                entry.topics = topics;
                rebalance = true;
            }
            continue;
        }
        let departed = info.group_instance_id.as_ref().and_then(|instance| {
            state
                .members
                .iter()
                .find(|(_, m)| {
                    m.departed_ms.is_some() && m.group_instance_id.as_ref() == Some(instance)
                })
                .map(|(old, _)| old.clone())
        });
        let mut entry = MemberEntry::of(info);
        match departed.and_then(|old| state.members.remove(&old)) {
            Some(old) => {
                // A static member back within its session timeout.
                entry.assigned = old.assigned;
                entry.acked_generation = old.acked_generation;
                if old.topics != entry.topics {
                    rebalance = true;
                }
            }
            None => rebalance = true,
        }
        state.members.insert(id.clone(), entry);
        result.changed = true;
    }
    for info in live.values() {
        for (topic, &count) in &info.topics {
            let known = state.partitions_per_topic.entry(topic.clone()).or_insert(0);
            if count > *known {
                *known = count;
                rebalance = true;
            }
        }
    }
    if state.protocol != Some(assignor) && !live.is_empty() {
        rebalance = true;
    }
    if rebalance {
        result.changed = true;
        result.rebalanced = true;
        state.generation = state.generation.saturating_add(1);
        state.protocol = Some(assignor);
        let subscribed: BTreeSet<&String> = state
            .members
            .values()
            .flat_map(|m| m.topics.iter())
            .collect();
        state
            .partitions_per_topic
            .retain(|topic, _| subscribed.contains(topic));
        if state.partition_total() > MAX_GROUP_PARTITIONS {
            // Counts from a damaged state or member file: nothing assigned
            // (the state is refused when written, see `write_state`).
            for entry in state.members.values_mut() {
                entry.assigned.clear();
            }
            return result;
        }
        let subscriptions: BTreeMap<String, Subscription> = state
            .members
            .iter()
            .map(|(id, m)| {
                let mut s = Subscription::new(m.topics.iter().cloned())
                    .with_owned(m.assigned.clone(), m.acked_generation);
                if let Some(instance) = &m.group_instance_id {
                    s = s.with_group_instance_id(instance.clone());
                }
                (id.clone(), s)
            })
            .collect();
        let target = match assignor {
            Assignor::CooperativeSticky => Assignor::Sticky,
            eager => eager,
        };
        let assignment = target.assign(&state.partitions_per_topic, &subscriptions);
        for (id, entry) in &mut state.members {
            entry.assigned = assignment.get(id).cloned().unwrap_or_default();
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(id: &str, instance: Option<&str>, topics: &[(&str, i32)]) -> MemberInfo {
        MemberInfo {
            member_id: id.into(),
            group_instance_id: instance.map(Into::into),
            client_id: "kreplay".into(),
            host: "h".into(),
            pid: 1,
            assignor: Assignor::Range,
            session_timeout_ms: 1000,
            topics: topics.iter().map(|(t, c)| (t.to_string(), *c)).collect(),
        }
    }

    fn live(members: &[MemberInfo]) -> BTreeMap<String, MemberInfo> {
        members
            .iter()
            .map(|m| (m.member_id.clone(), m.clone()))
            .collect()
    }

    #[test]
    fn member_file_round_trips_hostile_names() {
        let mut m = info("c-1", Some("in stance,-:%"), &[("t-1,:", 3), ("x", 1)]);
        m.client_id = String::new();
        m.host = "-".into();
        let text = m.render();
        assert_eq!(
            MemberInfo::parse(Path::new("m"), text.as_bytes()).unwrap(),
            m
        );
        assert!(text.lines().all(|l| l.split(' ').count() <= 3));
    }

    #[test]
    fn state_file_round_trips() {
        let mut state = GroupState::default();
        let members = [
            info("a", None, &[("t", 3)]),
            info("b", Some("-"), &[("t", 3), ("u v", 1)]),
        ];
        reconcile(&mut state, &live(&members), 5, Assignor::RoundRobin);
        state.members.get_mut("b").unwrap().departed_ms = Some(77);
        let text = state.render();
        assert_eq!(
            GroupState::parse(Path::new("s"), text.as_bytes()).unwrap(),
            state
        );
    }

    #[test]
    fn bad_state_files_name_the_line() {
        for (text, line) in [
            ("", "line 1"),
            ("kreplay-group 2\n", "line 1"),
            ("kreplay-group 1\ngeneration x\n", "line 2"),
            ("kreplay-group 1\ngeneration 1\nprotocol nope\n", "line 3"),
            (
                "kreplay-group 1\ngeneration 1\nprotocol range\nmember a\n",
                "line 4",
            ),
            ("kreplay-group 1\nprotocol range\n", "no generation"),
        ] {
            let error = GroupState::parse(Path::new("s"), text.as_bytes()).unwrap_err();
            assert!(error.to_string().contains(line), "{text:?}: {error}");
        }
    }

    #[test]
    fn partition_counts_past_the_limit_are_refused() {
        // A damaged count would have the assignors allocate per partition.
        let state = "kreplay-group 1\ngeneration 1\nprotocol range\ntopic t 2000000000\n";
        let error = GroupState::parse(Path::new("s"), state.as_bytes()).unwrap_err();
        assert!(error.to_string().contains("line 4"), "{error}");
        let split = "kreplay-group 1\ngeneration 1\nprotocol range\ntopic t 1048576\ntopic u 1\n";
        assert!(GroupState::parse(Path::new("s"), split.as_bytes()).is_err());
        let mut m = info("a", None, &[("t", 1 << 20), ("u", 1)]);
        assert!(MemberInfo::parse(Path::new("m"), m.render().as_bytes()).is_err());
        m.topics.remove("u");
        assert!(MemberInfo::parse(Path::new("m"), m.render().as_bytes()).is_ok());
        // A state at the limit and a member with one more topic: nothing is
        // assigned (and `write_state` refuses to write it).
        let mut state = GroupState::default();
        state.partitions_per_topic.insert("t".into(), 1 << 20);
        let u = info("u", None, &[("t", 3), ("u", 1)]);
        assert!(reconcile(&mut state, &live(&[u]), 0, Assignor::Range).rebalanced);
        assert!(state.partition_total() > MAX_GROUP_PARTITIONS);
        assert!(state.members["u"].assigned.is_empty());
    }

    #[test]
    fn joins_and_leaves_rebalance_dynamic_members() {
        let mut state = GroupState::default();
        let a = info("a", None, &[("t", 4)]);
        let b = info("b", None, &[("t", 4)]);
        let r = reconcile(
            &mut state,
            &live(std::slice::from_ref(&a)),
            0,
            Assignor::Range,
        );
        assert!(r.rebalanced);
        assert_eq!(state.generation, 1);
        assert_eq!(state.members["a"].assigned.len(), 4);
        // Nothing changed: no new generation.
        assert_eq!(
            reconcile(
                &mut state,
                &live(std::slice::from_ref(&a)),
                1,
                Assignor::Range
            ),
            Reconciled::default()
        );
        let r = reconcile(
            &mut state,
            &live(&[a.clone(), b.clone()]),
            2,
            Assignor::Range,
        );
        assert!(r.rebalanced);
        assert_eq!(state.generation, 2);
        assert_eq!(state.members["a"].assigned.len(), 2);
        assert_eq!(state.members["b"].assigned.len(), 2);
        // b dies: a gets everything back.
        reconcile(&mut state, &live(&[a]), 3, Assignor::Range);
        assert_eq!(state.generation, 3);
        assert_eq!(state.members.len(), 1);
        assert_eq!(state.members["a"].assigned.len(), 4);
    }

    #[test]
    fn static_member_keeps_its_partitions_within_the_session_timeout() {
        let mut state = GroupState::default();
        let a = info("a", None, &[("t", 4)]);
        let s1 = info("s1", Some("box-1"), &[("t", 4)]);
        reconcile(
            &mut state,
            &live(&[a.clone(), s1.clone()]),
            0,
            Assignor::Range,
        );
        let generation = state.generation;
        let held = state.members["s1"].assigned.clone();
        assert_eq!(held.len(), 2);
        // s1 dies: departed, partitions held, no rebalance.
        let r = reconcile(
            &mut state,
            &live(std::slice::from_ref(&a)),
            100,
            Assignor::Range,
        );
        assert!(r.changed && !r.rebalanced);
        assert_eq!(state.members["s1"].departed_ms, Some(100));
        assert_eq!(state.members["s1"].assigned, held);
        // Back as a new process (new member id), same instance id: same
        // partitions, same generation.
        let s2 = info("s2", Some("box-1"), &[("t", 4)]);
        let r = reconcile(
            &mut state,
            &live(&[a.clone(), s2.clone()]),
            500,
            Assignor::Range,
        );
        assert!(!r.rebalanced);
        assert_eq!(state.generation, generation);
        assert!(!state.members.contains_key("s1"));
        assert_eq!(state.members["s2"].assigned, held);
        // Gone for longer than its session timeout: rebalanced away.
        reconcile(
            &mut state,
            &live(std::slice::from_ref(&a)),
            1_000,
            Assignor::Range,
        );
        assert!(
            !reconcile(
                &mut state,
                &live(std::slice::from_ref(&a)),
                1_900,
                Assignor::Range
            )
            .rebalanced
        );
        let r = reconcile(&mut state, &live(&[a]), 2_001, Assignor::Range);
        assert!(r.rebalanced);
        assert_eq!(state.members.len(), 1);
        assert_eq!(state.members["a"].assigned.len(), 4);
    }

    #[test]
    fn cooperative_gets_the_sticky_target_at_once() {
        let mut state = GroupState::default();
        let a = info("a", None, &[("t", 6)]);
        let b = info("b", None, &[("t", 6)]);
        reconcile(
            &mut state,
            &live(std::slice::from_ref(&a)),
            0,
            Assignor::CooperativeSticky,
        );
        let before: BTreeSet<TopicPartition> =
            state.members["a"].assigned.iter().cloned().collect();
        reconcile(&mut state, &live(&[a, b]), 1, Assignor::CooperativeSticky);
        let kept: BTreeSet<TopicPartition> = state.members["a"].assigned.iter().cloned().collect();
        assert_eq!(kept.len(), 3);
        assert!(kept.is_subset(&before));
        assert_eq!(state.members["b"].assigned.len(), 3);
    }

    #[test]
    fn idle_members_own_nothing() {
        let mut state = GroupState::default();
        let members: Vec<MemberInfo> = (0..5)
            .map(|i| info(&format!("m{i}"), None, &[("t", 3)]))
            .collect();
        reconcile(&mut state, &live(&members), 0, Assignor::RoundRobin);
        let owned: usize = state.members.values().map(|m| m.assigned.len()).sum();
        assert_eq!(owned, 3);
        assert_eq!(
            state
                .members
                .values()
                .filter(|m| m.assigned.is_empty())
                .count(),
            2
        );
    }
}
