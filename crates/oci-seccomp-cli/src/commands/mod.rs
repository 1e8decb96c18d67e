//! The subcommands: each module has its arguments (a clap `Args` struct) and runs them.

pub mod check;
pub mod compile;
pub mod completions;
pub mod demo;
pub mod diff;
pub mod explain;
pub mod features;
pub mod fmt;
pub mod inspect;
pub mod install_profile;
pub mod lift;
pub mod man;
pub mod merge;
pub mod record;
pub mod render;
pub mod run;
pub mod supervise;
