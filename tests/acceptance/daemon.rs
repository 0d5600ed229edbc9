//! A server a test starts, kills with SIGKILL and starts again (a broker, or its helper),
//! writing to a log file that a failing test shows.

use std::fs::{File, OpenOptions};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, PoisonError};

pub(crate) struct Daemon {
    /// Names it in the log shown when a test fails.
    name: String,
    log: PathBuf,
    child: Mutex<Option<Child>>,
}

impl Daemon {
    /// A daemon not started yet, writing to `log` (appended to across restarts).
    pub(crate) fn new(name: impl Into<String>, log: PathBuf) -> Self {
        Self {
            name: name.into(),
            log,
            child: Mutex::new(None),
        }
    }

    /// Starts `command`, its output to the log.
    pub(crate) fn spawn(&self, command: &mut Command) {
        let log = self.log_file();
        let child = command
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("the log handle clones"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|err| panic!("{} starts: {err}", self.name));
        *self.child.lock().unwrap() = Some(child);
    }

    fn log_file(&self) -> File {
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("the log opens")
    }

    /// The log so far.
    pub(crate) fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub(crate) fn running(&self) -> bool {
        self.child.lock().unwrap().is_some()
    }

    /// SIGKILL, as in a crash: whatever it had not written is lost with it.
    pub(crate) fn kill(&self) {
        let mut child = self
            .child
            .lock()
            .unwrap()
            .take()
            .unwrap_or_else(|| panic!("{} is running", self.name));
        child.kill().expect("SIGKILL is delivered");
        child.wait().expect("the killed process is reaped");
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let slot = self.child.get_mut().unwrap_or_else(PoisonError::into_inner);
        if let Some(mut child) = slot.take() {
            // Best effort: it may have exited on its own already.
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            eprintln!("----- log of {} -----\n{}", self.name, self.log_text());
        }
    }
}
