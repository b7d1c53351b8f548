//! The KRaft metadata record types, field for field as Kafka's schemas
//! (`metadata/src/main/resources/common/metadata/*.json`) and the KRaft
//! control records' schemas (`clients/src/main/resources/common/message/`
//! `LeaderChangeMessage`, `SnapshotHeaderRecord`, `SnapshotFooterRecord`,
//! `KRaftVersionRecord`, `VotersRecord`) define them. Each field names its
//! schema field, the versions it exists in, its default when that is not the
//! type's zero and its tag when it is a tagged field.

#![deny(clippy::unwrap_used, clippy::indexing_slicing)]

use super::codec::{default_of, message, tag_of, Bytes, Uuid};

message! {
    /// Api key 0: a broker registers (or re-registers) with the controller.
    pub struct RegisterBrokerRecord {
        /// The broker id.
        broker_id: i32 => ("BrokerId", 0..=3),
        /// A ZK broker in migration mode.
        is_migrating_zk_broker: bool => ("IsMigratingZkBroker", 2..=3),
        /// The incarnation id of the broker process.
        incarnation_id: Uuid => ("IncarnationId", 0..=3),
        /// The broker epoch the controller assigned.
        broker_epoch: i64 => ("BrokerEpoch", 0..=3),
        /// The broker's listeners.
        end_points: Vec<BrokerEndpoint> => ("EndPoints", 0..=3),
        /// The features the broker supports.
        features: Vec<BrokerFeature> => ("Features", 0..=3),
        /// The rack, if any.
        rack: Option<String> => ("Rack", 0..=3),
        /// Whether the broker is fenced.
        fenced: bool => ("Fenced", 0..=3, default = true),
        /// Whether the broker is in controlled shutdown.
        in_controlled_shutdown: bool => ("InControlledShutdown", 1..=3),
        /// The broker's available log dirs.
        log_dirs: Vec<Uuid> => ("LogDirs", 3..=3, tag = 0),
    }
}

message! {
    /// One listener of a broker.
    pub struct BrokerEndpoint {
        /// The listener name.
        name: String => ("Name", 0..=3),
        /// The host name.
        host: String => ("Host", 0..=3),
        /// The port.
        port: u16 => ("Port", 0..=3),
        /// The security protocol id.
        security_protocol: i16 => ("SecurityProtocol", 0..=3),
    }
}

message! {
    /// A supported feature range of a broker or controller.
    pub struct BrokerFeature {
        /// The feature name.
        name: String => ("Name", 0..=3),
        /// The lowest supported level.
        min_supported_version: i16 => ("MinSupportedVersion", 0..=3),
        /// The highest supported level.
        max_supported_version: i16 => ("MaxSupportedVersion", 0..=3),
    }
}

message! {
    /// Api key 1: a broker is unregistered.
    pub struct UnregisterBrokerRecord {
        /// The broker id.
        broker_id: i32 => ("BrokerId", 0..=0),
        /// The broker epoch.
        broker_epoch: i64 => ("BrokerEpoch", 0..=0),
    }
}

message! {
    /// Api key 2: a topic is created.
    pub struct TopicRecord {
        /// The topic name.
        name: String => ("Name", 0..=0),
        /// The topic id.
        topic_id: Uuid => ("TopicId", 0..=0),
    }
}

message! {
    /// Api key 3: a partition is created (or its full state in a snapshot).
    pub struct PartitionRecord {
        /// The partition number.
        partition_id: i32 => ("PartitionId", 0..=2, default = -1),
        /// The topic id.
        topic_id: Uuid => ("TopicId", 0..=2),
        /// The replicas, in preferred order.
        replicas: Vec<i32> => ("Replicas", 0..=2),
        /// The in-sync replicas.
        isr: Vec<i32> => ("Isr", 0..=2),
        /// Replicas being removed.
        removing_replicas: Vec<i32> => ("RemovingReplicas", 0..=2),
        /// Replicas being added.
        adding_replicas: Vec<i32> => ("AddingReplicas", 0..=2),
        /// The leader, -1 for none.
        leader: i32 => ("Leader", 0..=2, default = -1),
        /// 1 while recovering from an unclean election.
        leader_recovery_state: i8 => ("LeaderRecoveryState", 0..=2, tag = 0),
        /// The leader epoch.
        leader_epoch: i32 => ("LeaderEpoch", 0..=2, default = -1),
        /// The partition epoch.
        partition_epoch: i32 => ("PartitionEpoch", 0..=2, default = -1),
        /// The log dir of each replica.
        directories: Vec<Uuid> => ("Directories", 1..=2),
        /// The eligible leader replicas.
        eligible_leader_replicas: Option<Vec<i32>> => ("EligibleLeaderReplicas", 2..=2, tag = 1),
        /// The last known eligible leader replicas.
        last_known_elr: Option<Vec<i32>> => ("LastKnownElr", 2..=2, tag = 2),
    }
}

message! {
    /// Api key 4: a config is set (or deleted, with a null value).
    pub struct ConfigRecord {
        /// The resource type (2 topic, 4 broker, 8 broker logger).
        resource_type: i8 => ("ResourceType", 0..=0),
        /// The resource name ("" for the cluster default).
        resource_name: String => ("ResourceName", 0..=0),
        /// The config key.
        name: String => ("Name", 0..=0),
        /// The value; `None` deletes the key.
        value: Option<String> => ("Value", 0..=0),
    }
}

message! {
    /// Api key 5: a partition changes (leader, ISR, replicas...); fields
    /// left at their default did not change.
    pub struct PartitionChangeRecord {
        /// The partition number.
        partition_id: i32 => ("PartitionId", 0..=2, default = -1),
        /// The topic id.
        topic_id: Uuid => ("TopicId", 0..=2),
        /// The new ISR, `None` if unchanged.
        isr: Option<Vec<i32>> => ("Isr", 0..=2, tag = 0),
        /// The new leader: -1 none, -2 unchanged.
        leader: i32 => ("Leader", 0..=2, default = -2, tag = 1),
        /// The new replicas, `None` if unchanged.
        replicas: Option<Vec<i32>> => ("Replicas", 0..=2, tag = 2),
        /// The new removing replicas, `None` if unchanged.
        removing_replicas: Option<Vec<i32>> => ("RemovingReplicas", 0..=2, tag = 3),
        /// The new adding replicas, `None` if unchanged.
        adding_replicas: Option<Vec<i32>> => ("AddingReplicas", 0..=2, tag = 4),
        /// -1 unchanged, else the new leader recovery state.
        leader_recovery_state: i8 => ("LeaderRecoveryState", 0..=2, default = -1, tag = 5),
        /// The new log dirs, `None` if unchanged.
        directories: Option<Vec<Uuid>> => ("Directories", 1..=2, tag = 8),
        /// The new eligible leader replicas, `None` if unchanged.
        eligible_leader_replicas: Option<Vec<i32>> => ("EligibleLeaderReplicas", 2..=2, tag = 6),
        /// The new last known ELR, `None` if unchanged.
        last_known_elr: Option<Vec<i32>> => ("LastKnownElr", 2..=2, tag = 7),
    }
}

message! {
    /// Api key 7: a broker is fenced.
    pub struct FenceBrokerRecord {
        /// The broker id.
        id: i32 => ("Id", 0..=0),
        /// The broker epoch.
        epoch: i64 => ("Epoch", 0..=0),
    }
}

message! {
    /// Api key 8: a broker is unfenced.
    pub struct UnfenceBrokerRecord {
        /// The broker id.
        id: i32 => ("Id", 0..=0),
        /// The broker epoch.
        epoch: i64 => ("Epoch", 0..=0),
    }
}

message! {
    /// Api key 9: a topic (and its partitions) is deleted.
    pub struct RemoveTopicRecord {
        /// The topic id.
        topic_id: Uuid => ("TopicId", 0..=0),
    }
}

message! {
    /// Api key 10: a delegation token.
    pub struct DelegationTokenRecord {
        /// The owner.
        owner: String => ("Owner", 0..=0),
        /// The requester.
        requester: String => ("Requester", 0..=0),
        /// Who may renew it.
        renewers: Vec<String> => ("Renewers", 0..=0),
        /// When it was issued.
        issue_timestamp: i64 => ("IssueTimestamp", 0..=0),
        /// When it can no longer be renewed.
        max_timestamp: i64 => ("MaxTimestamp", 0..=0),
        /// When it must next be renewed.
        expiration_timestamp: i64 => ("ExpirationTimestamp", 0..=0),
        /// The token id.
        token_id: String => ("TokenId", 0..=0),
    }
}

message! {
    /// Api key 11: a SCRAM credential.
    pub struct UserScramCredentialRecord {
        /// The user name.
        name: String => ("Name", 0..=0),
        /// The SCRAM mechanism.
        mechanism: i8 => ("Mechanism", 0..=0),
        /// The salt.
        salt: Bytes => ("Salt", 0..=0),
        /// The stored key.
        stored_key: Bytes => ("StoredKey", 0..=0),
        /// The server key.
        server_key: Bytes => ("ServerKey", 0..=0),
        /// The iteration count.
        iterations: i32 => ("Iterations", 0..=0),
    }
}

message! {
    /// Api key 12: a feature's finalized level (`metadata.version`...).
    pub struct FeatureLevelRecord {
        /// The feature name.
        name: String => ("Name", 0..=0),
        /// The level; 0 removes the feature.
        feature_level: i16 => ("FeatureLevel", 0..=0),
    }
}

message! {
    /// Api key 14: a client quota is set or removed.
    pub struct ClientQuotaRecord {
        /// The entity the quota applies to.
        entity: Vec<EntityData> => ("Entity", 0..=0),
        /// The quota key.
        key: String => ("Key", 0..=0),
        /// The value.
        value: f64 => ("Value", 0..=0),
        /// Whether the quota is removed.
        remove: bool => ("Remove", 0..=0),
    }
}

message! {
    /// One part of a quota entity.
    pub struct EntityData {
        /// The entity type.
        entity_type: String => ("EntityType", 0..=0),
        /// The entity name, `None` for the default.
        entity_name: Option<String> => ("EntityName", 0..=0),
    }
}

message! {
    /// Api key 15: a block of producer ids is allocated.
    pub struct ProducerIdsRecord {
        /// The requesting broker.
        broker_id: i32 => ("BrokerId", 0..=0),
        /// Its epoch.
        broker_epoch: i64 => ("BrokerEpoch", 0..=0, default = -1),
        /// The first producer id of the next block.
        next_producer_id: i64 => ("NextProducerId", 0..=0),
    }
}

message! {
    /// Api key 17: a broker's registration changes.
    pub struct BrokerRegistrationChangeRecord {
        /// The broker id.
        broker_id: i32 => ("BrokerId", 0..=2),
        /// The broker epoch.
        broker_epoch: i64 => ("BrokerEpoch", 0..=2),
        /// -1 unfenced, 0 no change, 1 fenced.
        fenced: i8 => ("Fenced", 0..=2, tag = 0),
        /// 1 when in controlled shutdown.
        in_controlled_shutdown: i8 => ("InControlledShutdown", 1..=2, tag = 1),
        /// The available log dirs.
        log_dirs: Vec<Uuid> => ("LogDirs", 2..=2, tag = 2),
    }
}

message! {
    /// Api key 18: an ACL.
    pub struct AccessControlEntryRecord {
        /// The ACL id.
        id: Uuid => ("Id", 0..=0),
        /// The resource type.
        resource_type: i8 => ("ResourceType", 0..=0),
        /// The resource name.
        resource_name: String => ("ResourceName", 0..=0),
        /// The pattern type.
        pattern_type: i8 => ("PatternType", 0..=0),
        /// The principal.
        principal: String => ("Principal", 0..=0),
        /// The host.
        host: String => ("Host", 0..=0),
        /// The operation.
        operation: i8 => ("Operation", 0..=0),
        /// Allow or deny.
        permission_type: i8 => ("PermissionType", 0..=0),
    }
}

message! {
    /// Api key 19: an ACL is removed.
    pub struct RemoveAccessControlEntryRecord {
        /// The ACL id.
        id: Uuid => ("Id", 0..=0),
    }
}

message! {
    /// Api key 20: nothing (the controller's heartbeat in the log).
    pub struct NoOpRecord {}
}

message! {
    /// Api key 21: the ZK migration state.
    pub struct ZkMigrationStateRecord {
        /// The state.
        zk_migration_state: i8 => ("ZkMigrationState", 0..=0),
    }
}

message! {
    /// Api key 22: a SCRAM credential is removed.
    pub struct RemoveUserScramCredentialRecord {
        /// The user name.
        name: String => ("Name", 0..=0),
        /// The SCRAM mechanism.
        mechanism: i8 => ("Mechanism", 0..=0),
    }
}

message! {
    /// Api key 23: a metadata transaction begins.
    pub struct BeginTransactionRecord {
        /// What the transaction is.
        name: Option<String> => ("Name", 0..=0, tag = 0),
    }
}

message! {
    /// Api key 24: a metadata transaction ends.
    pub struct EndTransactionRecord {}
}

message! {
    /// Api key 25: a metadata transaction is aborted.
    pub struct AbortTransactionRecord {
        /// Why.
        reason: Option<String> => ("Reason", 0..=0, tag = 0),
    }
}

message! {
    /// Api key 26: a delegation token is removed.
    pub struct RemoveDelegationTokenRecord {
        /// The token id.
        token_id: String => ("TokenId", 0..=0),
    }
}

message! {
    /// Api key 27: a controller registers.
    pub struct RegisterControllerRecord {
        /// The controller id.
        controller_id: i32 => ("ControllerId", 0..=0),
        /// The incarnation id of the controller process.
        incarnation_id: Uuid => ("IncarnationId", 0..=0),
        /// Whether the ZK migration configs are present.
        zk_migration_ready: bool => ("ZkMigrationReady", 0..=0),
        /// The controller's listeners.
        end_points: Vec<BrokerEndpoint> => ("EndPoints", 0..=0),
        /// The features the controller supports.
        features: Vec<BrokerFeature> => ("Features", 0..=0),
    }
}

// KRaft control records (values of control batches, read at version 0 as
// Kafka's `ControlRecordUtils` reads them).

message! {
    /// Control type 2: a new leader was elected.
    pub struct LeaderChangeMessage {
        /// The message's version field.
        version: i16 => ("Version", 0..=1),
        /// The new leader.
        leader_id: i32 => ("LeaderId", 0..=1),
        /// The voters of the epoch.
        voters: Vec<Voter> => ("Voters", 0..=1),
        /// The voters that voted for the leader.
        granting_voters: Vec<Voter> => ("GrantingVoters", 0..=1),
    }
}

message! {
    /// A voter of a leader change.
    pub struct Voter {
        /// The voter's id.
        voter_id: i32 => ("VoterId", 0..=1),
        /// The voter's directory id.
        voter_directory_id: Uuid => ("VoterDirectoryId", 1..=1),
    }
}

message! {
    /// Control type 3: the first record of a snapshot.
    pub struct SnapshotHeaderRecord {
        /// The record's version field.
        version: i16 => ("Version", 0..=0),
        /// Append time of the last log record the snapshot contains.
        last_contained_log_timestamp: i64 => ("LastContainedLogTimestamp", 0..=0),
    }
}

message! {
    /// Control type 4: the last record of a snapshot.
    pub struct SnapshotFooterRecord {
        /// The record's version field.
        version: i16 => ("Version", 0..=0),
    }
}

message! {
    /// Control type 5: the KRaft protocol version.
    pub struct KRaftVersionRecord {
        /// The record's version field.
        version: i16 => ("Version", 0..=0),
        /// The KRaft protocol version.
        kraft_version: i16 => ("KRaftVersion", 0..=0),
    }
}

message! {
    /// Control type 6: the set of voters.
    pub struct VotersRecord {
        /// The record's version field.
        version: i16 => ("Version", 0..=0),
        /// The voters.
        voters: Vec<VotersRecordVoter> => ("Voters", 0..=0),
    }
}

message! {
    /// One voter of a [`VotersRecord`].
    pub struct VotersRecordVoter {
        /// The voter's replica id.
        voter_id: i32 => ("VoterId", 0..=0),
        /// The voter's directory id.
        voter_directory_id: Uuid => ("VoterDirectoryId", 0..=0),
        /// Its endpoints.
        endpoints: Vec<VoterEndpoint> => ("Endpoints", 0..=0),
        /// The KRaft versions it supports.
        kraft_version_feature: KRaftVersionFeature => ("KRaftVersionFeature", 0..=0),
    }
}

message! {
    /// One endpoint of a voter.
    pub struct VoterEndpoint {
        /// The listener name.
        name: String => ("Name", 0..=0),
        /// The host name.
        host: String => ("Host", 0..=0),
        /// The port.
        port: u16 => ("Port", 0..=0),
    }
}

message! {
    /// The KRaft versions a voter supports.
    pub struct KRaftVersionFeature {
        /// The lowest.
        min_supported_version: i16 => ("MinSupportedVersion", 0..=0),
        /// The highest.
        max_supported_version: i16 => ("MaxSupportedVersion", 0..=0),
    }
}
