//! The pool of validator processes: started on demand up to a bound, each used for one job at a
//! time, replaced when one dies or overruns its deadline.

use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::Duration;

use outreach_core::sync::protocol::{self, ErrorCode};

use super::job::{self, Job, Verdict};
use super::worker::{read_frame, write_frame, CPU_VAR, MEMORY_VAR};
use super::VALIDATOR_ARG;
use crate::error::{Error, Result};

/// Where pushed Automerge bytes are validated.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Isolation {
    /// In validator processes started from the `outreach-hub` program: the running program
    /// when it is `outreach-hub`, else the program named by `OUTREACH_HUB_VALIDATOR`, else an
    /// `outreach-hub` beside the running program (or one folder up, as Cargo lays out tests).
    #[default]
    Auto,
    /// In validator processes started as `program validate-worker`; the program must call
    /// [`validator_main`](super::validator_main) when given that argument.
    Program(PathBuf),
    /// In the serving process itself, where an abort in Automerge ends the hub: only for tests
    /// of other parts and for measuring what isolation costs.
    InProcess,
}

/// Bounds on each validator process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValidatorLimits {
    /// Validator processes at most (and so documents validated at once).
    pub processes: usize,
    /// Address space of each process, in bytes (`RLIMIT_AS`).
    pub memory_bytes: u64,
    /// CPU time for one document, in seconds (`RLIMIT_CPU`, raised before each job).
    pub cpu_seconds: u64,
    /// Wall-clock time for one document, after which its process is killed.
    pub deadline: Duration,
}

impl Default for ValidatorLimits {
    fn default() -> Self {
        ValidatorLimits {
            processes: std::thread::available_parallelism().map_or(2, |n| n.get().clamp(1, 8)),
            memory_bytes: 1 << 30,
            cpu_seconds: 10,
            deadline: Duration::from_secs(60),
        }
    }
}

/// Environment variable naming the validator program.
const PROGRAM_VAR: &str = "OUTREACH_HUB_VALIDATOR";

/// Jobs a validator process runs before it is replaced (its allocator's and Automerge's state
/// do not grow without bound).
const JOBS_PER_PROCESS: u32 = 1000;

impl Isolation {
    /// The program to start validators from, `None` for in-process validation.
    fn program(&self) -> Result<Option<PathBuf>> {
        match self {
            Isolation::InProcess => Ok(None),
            Isolation::Program(p) => Ok(Some(p.clone())),
            Isolation::Auto => locate().map(Some),
        }
    }
}

fn locate() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os(PROGRAM_VAR) {
        return Ok(PathBuf::from(p));
    }
    let exe = std::env::current_exe()?;
    let name = format!("outreach-hub{}", std::env::consts::EXE_SUFFIX);
    if exe.file_name().is_some_and(|n| n == name.as_str()) {
        return Ok(exe);
    }
    let candidates = [exe.parent(), exe.parent().and_then(Path::parent)];
    let found = candidates
        .into_iter()
        .flatten()
        .map(|dir| dir.join(&name))
        .find(|p| p.is_file());
    found.ok_or_else(|| {
        Error::Server(format!(
            "no validator program: build outreach-hub, or name one in {PROGRAM_VAR}"
        ))
    })
}

/// A running validator process.
struct Worker {
    child: Child,
    stdin: ChildStdin,
    replies: Receiver<std::io::Result<Option<Vec<u8>>>>,
    jobs: u32,
}

impl Worker {
    fn start(program: &Path, limits: &ValidatorLimits) -> Result<Worker> {
        let mut child = Command::new(program)
            .arg(VALIDATOR_ARG)
            .env(MEMORY_VAR, limits.memory_bytes.to_string())
            .env(CPU_VAR, limits.cpu_seconds.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| Error::Server(format!("cannot start a validator ({}): {e}", program.display())))?;
        let stdin = child
            .stdin
            .take()
            .ok_or_else(|| Error::Server("a validator has no input".into()))?;
        let mut stdout = child
            .stdout
            .take()
            .ok_or_else(|| Error::Server("a validator has no output".into()))?;
        let (tx, replies) = mpsc::channel();
        std::thread::Builder::new()
            .name("validator-reader".into())
            .spawn(move || loop {
                let frame = read_frame(&mut stdout);
                let end = !matches!(frame, Ok(Some(_)));
                if tx.send(frame).is_err() || end {
                    return;
                }
            })
            .map_err(|e| Error::Server(format!("cannot start a validator's reader: {e}")))?;
        Ok(Worker {
            child,
            stdin,
            replies,
            jobs: 0,
        })
    }

    /// Runs one job; `None` when the process died, overran or answered nonsense.
    fn run(&mut self, job: &[u8], deadline: Duration) -> Option<Verdict> {
        self.jobs += 1;
        write_frame(&mut self.stdin, job).ok()?;
        match self.replies.recv_timeout(deadline) {
            Ok(Ok(Some(frame))) => protocol::decode(&frame).ok(),
            Ok(_) | Err(RecvTimeoutError::Disconnected) => None,
            Err(RecvTimeoutError::Timeout) => {
                let _ = self.child.kill();
                None
            }
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Validates pushed documents, in validator processes or (for tests) in-process.
pub(crate) struct Validator {
    isolation: Isolation,
    /// The program, found on first use: `None` in-process.
    program: std::sync::OnceLock<std::result::Result<Option<PathBuf>, String>>,
    limits: ValidatorLimits,
    idle: Mutex<Pool>,
    freed: Condvar,
}

struct Pool {
    idle: Vec<Worker>,
    running: usize,
}

impl std::fmt::Debug for Validator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Validator")
            .field("isolation", &self.isolation)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// The refusal of a document whose validation did not end well.
fn died() -> Verdict {
    Verdict::Refused {
        code: ErrorCode::InvalidDocument,
        reason:
            "validating this document failed (the validator stopped or ran out of time or memory): refused"
                .into(),
    }
}

impl Validator {
    /// A validator as `isolation` says, within `limits`; the program is found on first use.
    pub fn new(isolation: &Isolation, limits: ValidatorLimits) -> Validator {
        Validator {
            isolation: isolation.clone(),
            program: std::sync::OnceLock::new(),
            limits,
            idle: Mutex::new(Pool {
                idle: Vec::new(),
                running: 0,
            }),
            freed: Condvar::new(),
        }
    }

    /// The program validators start from (`None`: in this process), or why there is none.
    pub fn program(&self) -> Result<Option<&Path>> {
        match self
            .program
            .get_or_init(|| self.isolation.program().map_err(|e| e.to_string()))
        {
            Ok(p) => Ok(p.as_deref()),
            Err(e) => Err(Error::Server(e.clone())),
        }
    }

    /// Validates one document. Blocks until a validator is free.
    pub fn validate(&self, job: &Job) -> Result<Verdict> {
        let Some(program) = self.program()? else {
            return Ok(std::panic::catch_unwind(|| job::run(job)).unwrap_or_else(|_| died()));
        };
        let mut worker = self.checkout(program)?;
        let verdict = worker.run(&protocol::encode(job), self.limits.deadline);
        let keep = verdict.is_some() && worker.jobs < JOBS_PER_PROCESS;
        self.checkin(keep.then_some(worker));
        Ok(verdict.unwrap_or_else(died))
    }

    fn checkout(&self, program: &Path) -> Result<Worker> {
        let mut pool = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(w) = pool.idle.pop() {
                pool.running += 1;
                return Ok(w);
            }
            if pool.running < self.limits.processes.max(1) {
                pool.running += 1;
                drop(pool);
                return Worker::start(program, &self.limits).inspect_err(|_| self.checkin(None));
            }
            pool = self.freed.wait(pool).unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Gives a worker back (`None`: it is gone, a new one may start).
    fn checkin(&self, worker: Option<Worker>) {
        let mut pool = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        pool.running = pool.running.saturating_sub(1);
        if let Some(w) = worker {
            pool.idle.push(w);
        }
        drop(pool);
        self.freed.notify_one();
    }
}
