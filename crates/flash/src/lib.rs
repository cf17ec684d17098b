//! Sparse, verified flashing of disk images.
//!
//! - [`bmap`]: block maps in bmaptool's XML format (create from SEEK_DATA/SEEK_HOLE, parse, verify).
//! - [`target`]: block device or file; refuses mounted, held, swap, read-only or too small devices.
//! - [`engine`]: writes only mapped ranges, syncs periodically, reads back with O_DIRECT and
//!   compares sha256 per range; every failure names the state the target is left in.
//! - [`seed`]: writes the host identity into the image's `SWEETSEED` FAT partition in place.

pub mod artifacts;
pub mod bmap;
pub mod engine;
mod io;
pub mod progress;
pub mod seed;
pub mod sparse;
pub mod target;

pub use bmap::BlockMap;
pub use engine::{
    Failure, FlashError, FlashOptions, FlashReport, TargetState, flash, verify_target,
};
pub use progress::{NoProgress, ProgressSink, TerminalProgress};
pub use target::{Target, TargetError, TargetKind};
