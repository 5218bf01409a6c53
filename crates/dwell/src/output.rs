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
                // Opened now, so that an unwritable path fails before any work, but emptied
                // only when the first byte (or the final flush) comes: a run refused later (a
                // locked case file, no usable rule) leaves the previous results as they were.
                let f = std::fs::OpenOptions::new()
                    .write(true)
                    .create(true)
                    .truncate(false)
                    .open(p)
                    .map_err(|e| Fail(format!("cannot write {}: {e}", p.display())))?;
                let f = EmptiedOnUse {
                    file: f,
                    emptied: false,
                };
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

/// A file emptied when it is first written or flushed. Files that are not regular (a device
/// such as `/dev/null`, a FIFO) are written as they are.
struct EmptiedOnUse {
    file: std::fs::File,
    emptied: bool,
}

impl EmptiedOnUse {
    fn empty(&mut self) -> io::Result<()> {
        if !self.emptied {
            if self.file.metadata()?.is_file() {
                self.file.set_len(0)?;
            }
            self.emptied = true;
        }
        Ok(())
    }
}

impl Write for EmptiedOnUse {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.empty()?;
        self.file.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.empty()?;
        self.file.flush()
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
