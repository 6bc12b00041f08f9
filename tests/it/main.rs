//! Integration tests, built as one binary.

mod cli;
mod conservation;
mod narrate;
mod outputs;
mod sweep;
mod sweep_scale;
mod validation;
