//! How `mxsim` ends: the exit status of a command, and stdout, whose write errors must not
//! change a verdict. 0 success; 1 a failed bound or gate, whatever happened to stdout; 2 no
//! verdict (invalid input, a cut run, unwritable output); 3 an internal error (a panic).

use crate::Failure;
use std::io::{self, Write};
use std::panic::{self, AssertUnwindSafe};

/// Runs a command and gives its exit status: 0, 1 for a failed check, 2 for invalid input
/// or an inconclusive verdict (printing its message), 3 for an internal error (a panic,
/// already reported by the hook): distinct from a failed check, so CI can tell "the policy
/// regressed" from "mxsim broke". The status then accounts for stdout ([`status_with_output`]).
pub fn exit_status(command: impl FnOnce() -> Result<(), Failure>) -> u8 {
    let status = match panic::catch_unwind(AssertUnwindSafe(command)) {
        Ok(Ok(())) => 0,
        Ok(Err(Failure::Input(message) | Failure::Inconclusive(message))) => {
            eprintln!("{message}");
            2
        }
        Ok(Err(Failure::Check)) => 1,
        Err(_) => 3,
    };
    let output = take_output_error();
    if let Some(e) = output
        .as_ref()
        .filter(|e| e.kind() != io::ErrorKind::BrokenPipe)
    {
        eprintln!("error: cannot write to standard output: {e}");
    }
    status_with_output(status, output.map(|e| e.kind()))
}

/// The exit status once stdout is accounted for: a verdict (1) or an error (2, 3) stands
/// whatever happened to the output; a success whose output could not be written is an error
/// (2), except a closed pipe (`| head` read what it wanted).
fn status_with_output(status: u8, output: Option<io::ErrorKind>) -> u8 {
    match (status, output) {
        (0, Some(kind)) if kind != io::ErrorKind::BrokenPipe => 2,
        (status, _) => status,
    }
}

/// The first error writing stdout, kept for the exit status; later output is dropped.
static OUTPUT_ERROR: std::sync::Mutex<Option<io::Error>> = std::sync::Mutex::new(None);

fn take_output_error() -> Option<io::Error> {
    OUTPUT_ERROR.lock().map_or(None, |mut e| e.take())
}

/// Writes to stdout. A write error (a full disk, a closed pipe) does not end the command:
/// the verdict is still computed and decides the exit status, and the error is reported
/// there ([`exit_status`]); output after the error is dropped.
pub fn emit(text: &str) {
    let Ok(mut error) = OUTPUT_ERROR.lock() else {
        return;
    };
    if error.is_some() {
        return;
    }
    let mut out = io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        *error = Some(e);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_way_a_command_ends_has_its_exit_status() {
        assert_eq!(exit_status(|| Ok(())), 0);
        assert_eq!(exit_status(|| Err(Failure::Check)), 1);
        assert_eq!(exit_status(|| Err(Failure::Input("bad".into()))), 2);
        // A bug: the panic is caught, not propagated, and is not mistaken for a failed check.
        assert_eq!(exit_status(|| panic!("an internal error")), 3);
        assert_eq!(exit_status(|| Err(Failure::Inconclusive("cut".into()))), 2);
    }

    #[test]
    fn the_exit_status_is_the_verdict_whatever_happens_to_stdout() {
        use io::ErrorKind::{BrokenPipe, StorageFull};
        // A failed check stays 1 when stdout is full or closed.
        assert_eq!(status_with_output(1, Some(StorageFull)), 1);
        assert_eq!(status_with_output(1, Some(BrokenPipe)), 1);
        // A pass whose output could not be written is an error, unless the pipe was closed.
        assert_eq!(status_with_output(0, Some(StorageFull)), 2);
        assert_eq!(status_with_output(0, Some(BrokenPipe)), 0);
        assert_eq!(status_with_output(0, None), 0);
        assert_eq!(status_with_output(2, Some(StorageFull)), 2);
    }
}
