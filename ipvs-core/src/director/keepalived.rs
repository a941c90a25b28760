//! `keepalived.conf` (its `virtual_server` part) into
//! [`DirectorConfig`](super::config::DirectorConfig).
//!
//! STATUS: being written.
