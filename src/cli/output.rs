//! What the commands print for the person at the terminal, and what happens when nobody is
//! reading any more. `outln!` writes a line to standard output, `errln!` to standard error;
//! every command prints through them instead of `println!`/`eprintln!`, which panic when a
//! write fails.
//!
//! Invariants:
//! - No write to standard output or standard error panics.
//! - Standard output closed by its reader (`earshot queue stats | head -1`) ends the command
//!   at that write, quietly, with exit status 141: what a shell reports for any tool stopped
//!   by a closed pipe, so a script under `set -o pipefail` treats the kiosk like `cat`, and a
//!   half-done `upload --once` never reads as success. What was committed is committed; what
//!   was not stays queued, exactly as after Ctrl-C.
//! - SIGPIPE stays ignored (Rust's default) for the whole process: the kiosk and the uploader
//!   hold sockets, and a connection the other end reset must fail one request, never end
//!   the process.
//! - Any other failure to write standard output (a full disk behind `> file`) ends the
//!   command with a message on standard error and exit status 1.
//! - Standard error that cannot be written is ignored: it is where problems are told, and
//!   there is no one left to tell.

use std::io::Write;

/// The exit status of a command whose standard output was closed by its reader: 128 plus
/// SIGPIPE's number, as a shell shows for a program the signal stopped.
pub const CLOSED_PIPE_STATUS: i32 = 128 + 13;

/// Writes to standard output and flushes, so a closed pipe is found at this line and not at
/// some later one. See the module's invariants for what a failure does.
pub fn stdout(args: std::fmt::Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(args).and_then(|()| out.flush()) {
        drop(out);
        stdout_failed(&e);
    }
}

/// Writes to standard error, ignoring failure.
pub fn stderr(args: std::fmt::Arguments<'_>) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_fmt(args).and_then(|()| err.flush());
}

fn stdout_failed(e: &std::io::Error) -> ! {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(CLOSED_PIPE_STATUS);
    }
    stderr(format_args!(
        "earshot: cannot write the output: {e}. Fix: check where the output goes (a full disk or a removed USB stick)\n"
    ));
    std::process::exit(1);
}

/// `println!` for commands: see [`crate::output`].
#[macro_export]
macro_rules! outln {
    () => {
        $crate::cli::output::stdout(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::cli::output::stdout(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `eprintln!` for commands: see [`crate::output`].
#[macro_export]
macro_rules! errln {
    ($($arg:tt)*) => {
        $crate::cli::output::stderr(format_args!("{}\n", format_args!($($arg)*)))
    };
}
