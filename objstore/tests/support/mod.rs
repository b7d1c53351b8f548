//! What the object-storage tests share: the test server's settings
//! (`bucket`) and a fault-injecting, request-counting proxy (`proxy`).
#![allow(dead_code)]

pub mod bucket;
pub mod proxy;
