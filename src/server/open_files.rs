//! The process's limit on open files. Its soft value is often 1024, far below
//! `--max-connections`: raised to the hard value, it lets the connection bound be what
//! binds, not an accept loop that runs out of file descriptors.

use nix::sys::resource::{getrlimit, setrlimit, Resource};

/// Descriptors the process needs besides its clients' connections: the listener, the
/// databases, connections to other modules and to the event bus, logs.
const RESERVED: u64 = 256;

/// Raises the soft limit on open files to the hard one, and warns when even that leaves
/// too few for `max_connections`.
pub(super) fn raise_limit(max_connections: usize) {
    let (soft, hard) = match getrlimit(Resource::RLIMIT_NOFILE) {
        Ok(limits) => limits,
        Err(err) => {
            tracing::warn!(error = %err, "cannot read the limit on open files");
            return;
        }
    };
    let limit = if soft < hard {
        match setrlimit(Resource::RLIMIT_NOFILE, hard, hard) {
            Ok(()) => hard,
            Err(err) => {
                tracing::warn!(error = %err, soft, hard, "cannot raise the limit on open files");
                soft
            }
        }
    } else {
        soft
    };
    let needed = u64::try_from(max_connections)
        .unwrap_or(u64::MAX)
        .saturating_add(RESERVED);
    if limit < needed {
        tracing::warn!(
            limit,
            max_connections,
            "the limit on open files is below --max-connections: running out of file \
             descriptors, not the bound, will hold new connections back"
        );
    }
}
