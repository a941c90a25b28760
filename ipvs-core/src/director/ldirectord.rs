//! `ldirectord.cf` into [`DirectorConfig`](super::config::DirectorConfig).
//!
//! STATUS: being written.
