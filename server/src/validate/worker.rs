//! A validator process: reads jobs on its standard input, answers verdicts on its standard
//! output, each a 4-byte little-endian length and a CBOR body, until its input closes.

use std::io::{self, Read, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::process::ExitCode;

use outreach_core::sync::protocol::{self, ErrorCode};
use rustix::process::{setrlimit, Resource, Rlimit};

use super::job::{self, Job, Verdict};

/// Largest frame either side accepts.
pub(super) const MAX_FRAME: usize = 512 << 20;

/// Environment variable with the validator's address space limit, in bytes.
pub(super) const MEMORY_VAR: &str = "OUTREACH_VALIDATOR_MEMORY";

/// Environment variable with each job's CPU time limit, in seconds.
pub(super) const CPU_VAR: &str = "OUTREACH_VALIDATOR_CPU";

/// Reads one frame; `None` at the end of the input.
pub(super) fn read_frame(r: &mut impl Read) -> io::Result<Option<Vec<u8>>> {
    let mut len = [0u8; 4];
    match r.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let len = u32::from_le_bytes(len) as usize;
    if len > MAX_FRAME {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "frame too large"));
    }
    let mut body = vec![0u8; len];
    r.read_exact(&mut body)?;
    Ok(Some(body))
}

/// Writes one frame.
pub(super) fn write_frame(w: &mut impl Write, body: &[u8]) -> io::Result<()> {
    let len = u32::try_from(body.len())
        .ok()
        .filter(|n| (*n as usize) <= MAX_FRAME)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "frame too large"))?;
    w.write_all(&len.to_le_bytes())?;
    w.write_all(body)?;
    w.flush()
}

fn limit_from_env(var: &str) -> Option<u64> {
    std::env::var(var).ok()?.parse().ok()
}

/// Seconds of CPU this process has used.
fn cpu_seconds() -> u64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    u64::try_from(t.tv_sec).unwrap_or(0)
}

/// The CPU time this process may use before the kernel ends it: what it used so far plus one
/// job's allowance.
fn allow_cpu_for_one_job(per_job: u64) {
    let soft = cpu_seconds().saturating_add(per_job).saturating_add(1);
    let _ = setrlimit(
        Resource::Cpu,
        Rlimit {
            current: Some(soft),
            maximum: None,
        },
    );
}

/// Runs this process as a validator; returns when its input closes. Programs that serve the hub
/// in-process (a benchmark, say) call it when started with [`VALIDATOR_ARG`](super::VALIDATOR_ARG)
/// so that the hub can use them as validators.
pub fn validator_main() -> ExitCode {
    // Nothing a validator meets is printed: a panic message could quote what it was given.
    std::panic::set_hook(Box::new(|_| {}));
    if let Some(bytes) = limit_from_env(MEMORY_VAR) {
        let _ = setrlimit(
            Resource::As,
            Rlimit {
                current: Some(bytes),
                maximum: Some(bytes),
            },
        );
    }
    let cpu = limit_from_env(CPU_VAR);
    let mut input = io::stdin().lock();
    let mut output = io::stdout().lock();
    loop {
        let frame = match read_frame(&mut input) {
            Ok(Some(f)) => f,
            Ok(None) => return ExitCode::SUCCESS,
            Err(_) => return ExitCode::FAILURE,
        };
        if let Some(per_job) = cpu {
            allow_cpu_for_one_job(per_job);
        }
        let verdict = match protocol::decode::<Job>(&frame) {
            Ok(job) => {
                catch_unwind(AssertUnwindSafe(|| job::run(&job))).unwrap_or_else(|_| Verdict::Refused {
                    code: ErrorCode::InvalidDocument,
                    reason: "validating this document failed inside the CRDT library: refused".into(),
                })
            }
            Err(_) => Verdict::Corrupt("a validator job did not decode".into()),
        };
        if write_frame(&mut output, &protocol::encode(&verdict)).is_err() {
            return ExitCode::FAILURE;
        }
    }
}
