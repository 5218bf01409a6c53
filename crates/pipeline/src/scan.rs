//! The scan phase: one reader thread feeds batches from the source, worker threads decode and
//! match them, and the caller's thread collects the detections into the ordering.

use crate::problems::ProblemLog;
use crate::sink::InputTable;
use crate::worker::{self, WorkerCx, WorkerOut};
use crossbeam_channel::{RecvTimeoutError, Sender, bounded};
use dwell_core::{Observer, Problem};
use dwell_detect::{Detection, Detector};
use dwell_ingest::{Batch, Compression, Feed, Format, ReadError, Source};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};
use std::time::Duration;

/// The reader thread's side of the source: batches to the workers, everything else logged.
struct ChannelFeed<'a> {
    tx: Sender<Batch>,
    log: &'a ProblemLog<'a>,
    inputs: &'a InputTable,
    bytes: &'a AtomicU64,
}

impl Feed for ChannelFeed<'_> {
    fn opened(&mut self, input: u32, format: &Arc<dyn Format>, compression: Compression) {
        self.inputs.opened(input, format, compression);
    }

    fn batch(&mut self, batch: Batch) -> bool {
        self.tx.send(batch).is_ok()
    }

    fn problem(&mut self, p: Problem) {
        self.log.problem(p);
    }

    fn failed(&mut self, input: u32, e: ReadError) {
        self.log.failed(input, e);
    }

    fn progress(&mut self, bytes: u64) {
        self.bytes.fetch_add(bytes, AtomicOrdering::Relaxed);
    }
}

/// What the scan phase hands on.
pub(crate) struct Scanned {
    pub(crate) workers: Vec<WorkerOut>,
    pub(crate) bytes: u64,
    pub(crate) events: u64,
}

/// What the scan phase reads with.
pub(crate) struct ScanCx<'a> {
    pub(crate) detector: &'a Detector,
    pub(crate) observers: &'a [&'a dyn Observer],
    pub(crate) inputs: &'a InputTable,
    pub(crate) log: &'a ProblemLog<'a>,
    pub(crate) threads: usize,
    pub(crate) parse_only: bool,
    pub(crate) window: crate::Window,
}

/// Runs the scan phase; `collect` receives detections on the calling thread as workers send
/// them, and `tick` is called about ten times a second with bytes and events so far.
pub(crate) fn scan(
    sx: &ScanCx<'_>,
    source: &mut dyn Source,
    collect: &mut dyn FnMut(Vec<Detection>),
    tick: &mut dyn FnMut(u64, u64),
) -> Scanned {
    let ScanCx {
        detector,
        observers,
        inputs,
        log,
        threads,
        parse_only,
        window,
    } = *sx;
    let bytes = AtomicU64::new(0);
    let events = AtomicU64::new(0);
    let (batch_tx, batch_rx) = bounded::<Batch>(threads * 2);
    let (det_tx, det_rx) = bounded::<Vec<Detection>>(threads * 4);
    let cx = WorkerCx {
        detector,
        observers,
        inputs: inputs.len(),
        log,
        events: &events,
        parse_only,
        window,
    };
    let workers = std::thread::scope(|s| {
        let reader = {
            let mut feed = ChannelFeed {
                tx: batch_tx,
                log,
                inputs,
                bytes: &bytes,
            };
            std::thread::Builder::new()
                .name("dwell-source".into())
                .spawn_scoped(s, move || source.run(&mut feed))
        };
        let handles: Vec<_> = (0..threads)
            .filter_map(|i| {
                let (rx, tx, cx) = (batch_rx.clone(), det_tx.clone(), &cx);
                std::thread::Builder::new()
                    .name(format!("dwell-worker-{i}"))
                    .spawn_scoped(s, move || worker::run(cx, rx, tx))
                    .ok()
            })
            .collect();
        drop(det_tx);
        drop(batch_rx);
        loop {
            match det_rx.recv_timeout(Duration::from_millis(100)) {
                Ok(dets) => collect(dets),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            tick(
                bytes.load(AtomicOrdering::Relaxed),
                events.load(AtomicOrdering::Relaxed),
            );
        }
        // A source that could not start, or died, must not pass for one that read everything.
        match reader {
            Ok(r) => {
                if let Err(panic) = r.join() {
                    std::panic::resume_unwind(panic);
                }
            }
            Err(e) => panic!("could not start the thread that reads the inputs: {e}"),
        }
        handles
            .into_iter()
            .filter_map(|h| h.join().ok())
            .collect::<Vec<_>>()
    });
    Scanned {
        workers,
        bytes: bytes.into_inner(),
        events: events.into_inner(),
    }
}
