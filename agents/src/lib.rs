//! synmarket agents (in progress).
pub use synmarket_engine as engine;
