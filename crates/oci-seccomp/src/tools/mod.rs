//! Tools built on the pipeline and the profile's meaning: they read profiles and programs,
//! never change how one is compiled.

pub mod cache;
pub mod explain;
pub mod learn;
pub mod lift;
pub mod lint;
pub mod merge;
pub mod moby;
pub mod normalize;
pub mod runtimes;
pub mod spo;
pub mod trace;
