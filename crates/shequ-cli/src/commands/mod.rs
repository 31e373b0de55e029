//! The client subcommands, one module per service.

pub mod monitoring;
pub mod plans;
pub mod registry;
pub mod survey;
