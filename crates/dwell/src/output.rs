//! Where results go: standard output or a file. A reader that goes away (`dwell hunt | head`)
//! closes the pipe: the first write that finds it closed reports it once (so a sink can stop),
//! and every later one is quietly dropped. This is the one place broken pipes are handled.

use crate::Fail;
use std::io::{self, IsTerminal, Write};
use std::path::Path;

/// An output destination.
pub struct Output {
    inner: Box<dyn Write + Send>,
    closed: bool,
    /// Standard output, and a terminal.
    pub terminal: bool,
}

impl Output {
    /// `path`, or standard output when `None`. Fails before any work when it cannot be written.
    pub fn open(path: Option<&Path>) -> Result<Output, Fail> {
        Ok(match path {
            Some(p) => {
                let f = std::fs::File::create(p)
                    .map_err(|e| Fail(format!("cannot write {}: {e}", p.display())))?;
                Output {
                    inner: Box::new(io::BufWriter::with_capacity(1 << 20, f)),
                    closed: false,
                    terminal: false,
                }
            }
            None => Output {
                terminal: io::stdout().is_terminal(),
                inner: Box::new(io::BufWriter::with_capacity(1 << 20, io::stdout())),
                closed: false,
            },
        })
    }

    fn guard<T>(&mut self, r: io::Result<T>, or: T) -> io::Result<T> {
        match r {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                let first = !self.closed;
                self.closed = true;
                if first { Err(e) } else { Ok(or) }
            }
            r => r,
        }
    }

    /// Finishes writing; a closed pipe is not an error.
    pub fn done(mut self) -> Result<(), Fail> {
        match self.flush() {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
            Err(e) => Err(Fail(format!("writing output failed: {e}"))),
        }
    }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.closed {
            return Ok(buf.len());
        }
        let r = self.inner.write(buf);
        self.guard(r, buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.closed {
            return Ok(());
        }
        let r = self.inner.flush();
        self.guard(r, ())
    }
}

/// Maps a write's result: a closed pipe is done, anything else a failure.
pub fn written(r: io::Result<()>, what: &str) -> Result<(), Fail> {
    match r {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
            Err(Fail(format!("writing {what} failed: {e}")))
        }
        _ => Ok(()),
    }
}
