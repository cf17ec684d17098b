//! Integration tests: the official AWS SDK for Rust against sweetlies-dynamo on a throwaway
//! PostgreSQL (one cluster and one server for this whole test binary).

#[path = "../common/mod.rs"]
mod common;

mod batch_ttl;
mod items;
mod protocol;
mod reads;
mod signal;
mod tables;
mod transactions;
