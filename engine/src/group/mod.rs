//! Consumer groups: Kafka's partition assignors, as pure functions.

mod assignor;

pub use assignor::{
    Assignor, CooperativeAssignment, GroupAssignment, Subscription, UnknownAssignor,
};
