//! sweetlies-dynamo-bench: runs one Signal-like DynamoDB workload against several servers on this
//! machine (sweetlies-dynamo, moto) and compares throughput and latency. See the crate README.

pub mod config;
pub mod report;
pub mod runner;
pub mod stats;
pub mod workload;

pub use config::{Args, BenchConfig, ConfigError};
