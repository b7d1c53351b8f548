//! `state::kafka_groups::KafkaGroups`: the `__consumer_offsets` partitions
//! of a broker's log dirs merged into groups — their state, committed
//! offsets (a group split over two partitions: the latest commit wins) and
//! pending transactional commits; one partition in two log dirs is refused.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::path::Path;

use kreplay::state::consumer_offsets::{GroupMetadataValue, MemberMetadata};
use kreplay::state::kafka_groups::{KafkaGroupState, KafkaGroups};
use kreplay::writer::{
    fill_offset_deltas, group_metadata_record, offset_commit_record, PartitionWriter, RecordSpec,
    StateRecord, WriterOptions,
};
use kreplay::{Error, ReadOptions};

fn write(log: &Path, partition: i32, records: &[StateRecord], pending_pid: Option<i64>) {
    let mut specs: Vec<RecordSpec> = records
        .iter()
        .map(|r| RecordSpec::new(1_700_000_000_000, r.key(), r.value()))
        .collect();
    fill_offset_deltas(&mut specs);
    let mut w = PartitionWriter::open(
        log,
        "__consumer_offsets",
        partition,
        WriterOptions::default(),
    )
    .unwrap();
    match pending_pid {
        Some(pid) => {
            w.append_transactional(pid, 0, &specs).unwrap();
        }
        None => {
            w.append(&specs).unwrap();
        }
    }
    w.close().unwrap();
}

#[test]
fn groups_merge_over_partitions_with_state_and_pending_commits() {
    let root = tempfile::tempdir().unwrap();
    let log = root.path().join("logs");
    let stable = GroupMetadataValue {
        version: 3,
        protocol_type: "consumer".into(),
        generation: 2,
        protocol: Some("range".into()),
        members: vec![MemberMetadata {
            member_id: "m".into(),
            ..Default::default()
        }],
        ..Default::default()
    };
    write(
        &log,
        0,
        &[
            offset_commit_record("g", "t", 0, 10, "", 100).unwrap(),
            offset_commit_record("g", "t", 1, 70, "", 300).unwrap(),
            group_metadata_record("g", Some(&stable)).unwrap(),
            group_metadata_record("gone", Some(&stable)).unwrap(),
            group_metadata_record("gone", None).unwrap(),
        ],
        None,
    );
    // The same group in a second partition (the partition count changed):
    // t-0's commit there is newer, t-1's older.
    write(
        &log,
        1,
        &[
            offset_commit_record("g", "t", 0, 20, "", 200).unwrap(),
            offset_commit_record("g", "t", 1, 60, "", 150).unwrap(),
            offset_commit_record("plain", "t", 0, 5, "", 100).unwrap(),
        ],
        None,
    );
    write(
        &log,
        2,
        &[offset_commit_record("tx", "t", 0, 9, "", 100).unwrap()],
        Some(42),
    );

    let groups = KafkaGroups::load(std::slice::from_ref(&log), ReadOptions::default()).unwrap();
    assert_eq!(groups.partitions.len(), 3);
    assert_eq!(
        groups.group_ids().into_iter().collect::<Vec<_>>(),
        ["g", "gone", "plain", "tx"]
    );
    let g: Vec<(String, i32, i32, i64)> = groups
        .group_offsets("g")
        .into_iter()
        .map(|((t, p), (from, c))| (t, p, from, c.value.offset))
        .collect();
    assert_eq!(g, [("t".into(), 0, 1, 20), ("t".into(), 1, 0, 70)]);
    assert_eq!(groups.partitions_of("g"), [0, 1]);
    assert_eq!(groups.state("g"), Some(KafkaGroupState::Stable));
    assert_eq!(groups.state("plain"), Some(KafkaGroupState::Empty));
    assert_eq!(groups.state("gone"), Some(KafkaGroupState::Dead));
    assert_eq!(groups.state("tx"), None);
    assert_eq!(groups.state("nobody"), None);
    assert!(groups.group_offsets("tx").is_empty());
    let pending = groups.pending("tx");
    assert_eq!(pending.len(), 1);
    assert_eq!(
        (
            pending[0].offsets_partition,
            pending[0].producer_id,
            pending[0].topic,
            pending[0].committed.unwrap().value.offset
        ),
        (2, 42, "t", 9)
    );
    assert_eq!(groups.metadata("g").unwrap().generation, 2);
}

#[test]
fn one_partition_in_two_log_dirs_is_refused() {
    let root = tempfile::tempdir().unwrap();
    let (a, b) = (root.path().join("a"), root.path().join("b"));
    for log in [&a, &b] {
        write(
            log,
            3,
            &[offset_commit_record("g", "t", 0, 1, "", 1).unwrap()],
            None,
        );
    }
    let err = KafkaGroups::load(&[a.clone(), b.clone()], ReadOptions::default()).unwrap_err();
    assert!(matches!(err, Error::InvalidPath { .. }), "{err}");
    let message = err.to_string();
    assert!(
        message.contains(&b.join("__consumer_offsets-3").display().to_string())
            && message.contains(&a.join("__consumer_offsets-3").display().to_string()),
        "{message}"
    );
}

/// A KIP-848 (`consumer` protocol) group: its epoch and members come from
/// record types 3, 5 and 8; a member's metadata tombstone removes the
/// member, the group's metadata tombstone makes it dead.
#[test]
fn consumer_protocol_groups_have_their_epoch_and_members() {
    use kreplay::state::consumer_group::{
        ConsumerGroupKey, ConsumerGroupValue, CurrentMemberAssignmentValue, MemberMetadataValue,
    };
    use kreplay::state::consumer_offsets::{OffsetsKey, OffsetsValue};

    let record = |key: ConsumerGroupKey, value: Option<ConsumerGroupValue>| {
        StateRecord::new(
            &OffsetsKey::ConsumerGroup(key),
            value.map(OffsetsValue::ConsumerGroup).as_ref(),
        )
        .unwrap()
    };
    let metadata = |group: &str, epoch| {
        record(
            ConsumerGroupKey::Metadata {
                group_id: group.into(),
            },
            Some(ConsumerGroupValue::Metadata {
                epoch,
                unknown_tagged_fields: vec![],
            }),
        )
    };
    let member = |group: &str, member: &str, assignor: &str| {
        record(
            ConsumerGroupKey::MemberMetadata {
                group_id: group.into(),
                member_id: member.into(),
            },
            Some(ConsumerGroupValue::MemberMetadata(MemberMetadataValue {
                client_id: format!("client-{member}"),
                subscribed_topic_names: vec!["t".into()],
                server_assignor: Some(assignor.into()),
                ..Default::default()
            })),
        )
    };
    let assignment = |group: &str, member: &str, epoch| {
        record(
            ConsumerGroupKey::CurrentMemberAssignment {
                group_id: group.into(),
                member_id: member.into(),
            },
            Some(ConsumerGroupValue::CurrentMemberAssignment(
                CurrentMemberAssignmentValue {
                    member_epoch: epoch,
                    ..Default::default()
                },
            )),
        )
    };
    let root = tempfile::tempdir().unwrap();
    let log = root.path().join("logs");
    write(
        &log,
        0,
        &[
            metadata("c", 1),
            member("c", "a", "uniform"),
            member("c", "b", "uniform"),
            assignment("c", "a", 1),
            metadata("c", 2),
            assignment("c", "a", 2),
            record(
                ConsumerGroupKey::MemberMetadata {
                    group_id: "c".into(),
                    member_id: "b".into(),
                },
                None,
            ),
            offset_commit_record("c", "t", 0, 42, "", 100).unwrap(),
            metadata("gone", 3),
            member("gone", "x", "range"),
            record(
                ConsumerGroupKey::Metadata {
                    group_id: "gone".into(),
                },
                None,
            ),
        ],
        None,
    );
    let groups = KafkaGroups::load(&[log], ReadOptions::default()).unwrap();
    assert_eq!(
        groups.group_ids().into_iter().collect::<Vec<_>>(),
        ["c", "gone"]
    );
    assert_eq!(groups.state("c"), Some(KafkaGroupState::Stable));
    let view = groups.consumer_group("c").unwrap();
    assert_eq!(view.epoch, Some(2));
    assert_eq!(view.members.keys().collect::<Vec<_>>(), ["a"]);
    let a = &view.members["a"];
    assert_eq!(a.assignment.as_ref().unwrap().member_epoch, 2);
    assert_eq!(a.metadata.as_ref().unwrap().client_id, "client-a");
    assert_eq!(
        groups.group_offsets("c")[&("t".to_string(), 0)]
            .1
            .value
            .offset,
        42
    );
    assert_eq!(groups.state("gone"), Some(KafkaGroupState::Dead));
    assert!(groups.consumer_group("gone").is_none());
}
