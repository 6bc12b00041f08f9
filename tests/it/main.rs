//! Integration tests, built as one binary.

mod cli;
mod conservation;
mod messages;
mod narrate;
mod outputs;
mod sweep;
mod sweep_scale;
mod validation;
