//! Brochure files over the network: files published here are uploaded (`PUT /v1/blobs/{sha256}`)
//! before documents are pushed; missing files are downloaded (`GET`) to `<sha256>.part`, an
//! interrupted download resuming with `Range: bytes=N-`, and verified against their SHA-256
//! before they are renamed into place. A file that does not match is discarded and counted,
//! never shown.

use std::io::SeekFrom;
use std::path::{Path, PathBuf};

use reqwest::header::{CONTENT_RANGE, CONTENT_TYPE, RANGE};
use reqwest::{Method, StatusCode};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

use super::cancel::CancelToken;
use super::http::HubClient;
use super::options::{signed, FetchReport, Reporter, SyncOptions, SyncPhase, SyncReport};
use super::retry::Failure;
use crate::error::{Error, Result};
use crate::model::BrochureFile;
use crate::store::brochure_files::{ensure_dir, file_path, part_path, sync_dir};
use crate::store::Store;

/// Progress is told at most once per this many bytes of a download.
const PROGRESS_STEP: u64 = 256 * 1024;

/// A download in progress: the `.part` file, the hash of what it holds so far, and how much.
pub(crate) struct PartialDownload {
    path: PathBuf,
    file: tokio::fs::File,
    hasher: Sha256,
    len: u64,
    expected: u64,
    sha256: String,
    overflow: bool,
}

impl PartialDownload {
    /// Opens (or creates) the partial download of `sha256` in `dir` and hashes what it holds,
    /// so that the download resumes after it; a part longer than the file is started over.
    pub async fn open(dir: &Path, sha256: &str, expected: u64) -> std::io::Result<PartialDownload> {
        let path = part_path(dir, sha256);
        let mut file = tokio::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .await?;
        let mut hasher = Sha256::new();
        let mut len = 0u64;
        if file.metadata().await?.len() > expected {
            file.set_len(0).await?;
        } else {
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = file.read(&mut buf).await?;
                if n == 0 {
                    break;
                }
                hasher.update(&buf[..n]);
                len += n as u64;
            }
        }
        file.seek(SeekFrom::Start(len)).await?;
        Ok(PartialDownload {
            path,
            file,
            hasher,
            len,
            expected,
            sha256: sha256.to_string(),
            overflow: false,
        })
    }

    /// Bytes held so far.
    pub fn offset(&self) -> u64 {
        self.len
    }

    /// The `Range` header resuming this download, if it holds anything.
    pub fn range_header(&self) -> Option<String> {
        (self.len > 0).then(|| format!("bytes={}-", self.len))
    }

    /// Starts over (the hub sent the whole file, or resumed at the wrong place).
    pub async fn restart(&mut self) -> std::io::Result<()> {
        self.file.set_len(0).await?;
        self.file.seek(SeekFrom::Start(0)).await?;
        self.hasher = Sha256::new();
        self.len = 0;
        self.overflow = false;
        Ok(())
    }

    /// Appends received bytes; bytes beyond the expected size are not written, and make the
    /// download fail verification.
    pub async fn append(&mut self, chunk: &[u8]) -> std::io::Result<()> {
        if self.overflow || self.len + chunk.len() as u64 > self.expected {
            self.overflow = true;
            return Ok(());
        }
        self.file.write_all(chunk).await?;
        self.hasher.update(chunk);
        self.len += chunk.len() as u64;
        Ok(())
    }

    /// Whether more bytes came than the file has.
    pub fn overflowed(&self) -> bool {
        self.overflow
    }

    /// Whether it holds as many bytes as the file has (or more).
    pub fn is_full(&self) -> bool {
        self.overflow || self.len >= self.expected
    }

    /// Whether what it holds is the file.
    pub fn verifies(&self) -> bool {
        !self.overflow
            && self.len == self.expected
            && hex::encode(self.hasher.clone().finalize()) == self.sha256
    }

    /// Deletes the partial download.
    pub async fn discard(self) -> std::io::Result<()> {
        drop(self.file);
        tokio::fs::remove_file(&self.path).await
    }

    /// Moves a verified download to `dest` (flushed to disk first) and returns `true`; a
    /// download that does not verify is deleted and gives `false`.
    pub async fn finish(mut self, dest: &Path) -> std::io::Result<bool> {
        let ok = self.verifies();
        if ok {
            self.file.flush().await?;
            self.file.sync_all().await?;
        }
        drop(self.file);
        if ok {
            tokio::fs::rename(&self.path, dest).await?;
            if let Some(dir) = dest.parent() {
                sync_dir(dir);
            }
        } else {
            tokio::fs::remove_file(&self.path).await?;
        }
        Ok(ok)
    }
}

/// The first byte and the total size (if known) of `Content-Range: bytes FIRST-LAST/TOTAL`.
pub(crate) fn content_range(value: &str) -> Option<(u64, Option<u64>)> {
    let range = value.trim().strip_prefix("bytes ")?;
    let (span, total) = range.split_once('/')?;
    let (first, _) = span.split_once('-')?;
    let total = match total.trim() {
        "*" => None,
        t => Some(t.parse().ok()?),
    };
    Some((first.trim().parse().ok()?, total))
}

/// How one file's download ended.
enum Fetched {
    Verified,
    Mismatch,
}

impl Store {
    /// Fetches the brochure files missing on this device for `options.languages` (for each
    /// brochure in force, its file in the first of them it has, else in any language), within
    /// `options.storage_budget_bytes`: what does not fit is skipped, and files no brochure in
    /// force uses any more are removed. Each file is verified against its SHA-256 before use;
    /// an interrupted download resumes at the next fetch.
    pub async fn fetch_brochure_files(
        &self,
        options: &SyncOptions,
        cancel: &CancelToken,
    ) -> Result<FetchReport> {
        let _running = cancel
            .race(async { Ok(self.network_lock().lock().await) })
            .await?;
        let (hub, token) = self.credentials()?;
        let client = HubClient::new(hub, Some(token), options, cancel)?;
        let mut report = FetchReport::default();
        let fetched = self
            .fetch_files_with(&client, options, &Reporter::default(), &mut report)
            .await;
        self.wiped_if_revoked(fetched)?;
        Ok(report)
    }

    /// Uploads the files published here that the hub may lack, oldest first.
    pub(crate) async fn upload_files(
        &self,
        client: &HubClient,
        reporter: &Reporter,
        report: &mut SyncReport,
    ) -> Result<()> {
        let pending = self.pending_uploads()?;
        let total_bytes: u64 = pending.iter().map(|f| f.size).sum();
        let mut sent = 0u64;
        for (i, file) in pending.iter().enumerate() {
            client.cancel().check()?;
            reporter.tell(
                SyncPhase::Uploading,
                i as u64,
                pending.len() as u64,
                sent,
                total_bytes,
            );
            // A file damaged or gone since it was published is forgotten: nothing to upload.
            let Some(bytes) = self.read_upload(file)? else {
                continue;
            };
            let body = bytes::Bytes::from(bytes);
            let mut retry = 0;
            loop {
                let req = client
                    .request(Method::PUT, &format!("/v1/blobs/{}", file.sha256))
                    .header(CONTENT_TYPE, file.media_type.as_str())
                    .body(body.clone());
                match client.attempt(client.send(req, body.len() as u64)).await {
                    Ok(_) => break,
                    Err(f) => client.after_failure(f, &mut retry).await?,
                }
            }
            self.upload_done(&file.sha256)?;
            sent += file.size;
            report.files_uploaded += 1;
            report.bytes_up += signed::<_, i64>(file.size);
        }
        Ok(())
    }

    /// Plans, prunes and downloads brochure files. A lost connection ends it with
    /// [`Error::Network`], the files not fetched counted as pending.
    pub(crate) async fn fetch_files_with(
        &self,
        client: &HubClient,
        options: &SyncOptions,
        reporter: &Reporter,
        report: &mut FetchReport,
    ) -> Result<()> {
        client.cancel().check()?;
        let plan = self.plan_files(&options.languages, options.storage_budget_bytes)?;
        report.skipped += signed::<_, i32>(plan.skipped);
        report.removed += signed::<_, i32>(self.prune_files(&plan.keep)?);
        ensure_dir(self.brochure_dir())?;
        let count = plan.download.len() as u64;
        let total_bytes: u64 = plan.download.iter().map(|f| f.size).sum();
        let mut done_bytes = 0u64;
        for (i, file) in plan.download.iter().enumerate() {
            client.cancel().check()?;
            reporter.tell(SyncPhase::BrochureFiles, i as u64, count, done_bytes, total_bytes);
            let place = Place {
                index: i as u64,
                count,
                done_bytes,
                total_bytes,
            };
            match self.download(client, file, reporter, report, place).await {
                Ok(Fetched::Verified) => report.fetched += 1,
                Ok(Fetched::Mismatch) => {
                    report.failed += 1;
                    report.hash_mismatches += 1;
                }
                // This file is refused or missing on the hub: the others may still come.
                Err(Error::Hub { .. }) | Err(Error::Protocol(_)) => report.failed += 1,
                Err(e @ Error::Network(_)) => {
                    report.pending += signed::<_, i32>(plan.download.len() - i);
                    return Err(e);
                }
                Err(e) => return Err(e),
            }
            done_bytes += file.size;
        }
        reporter.tell(SyncPhase::BrochureFiles, count, count, done_bytes, total_bytes);
        Ok(())
    }

    /// Downloads one file, resuming a partial download, retrying transient failures. A part
    /// is kept for a later fetch when the connection fails, and deleted when the hub's file
    /// cannot be the right one.
    async fn download(
        &self,
        client: &HubClient,
        file: &BrochureFile,
        reporter: &Reporter,
        report: &mut FetchReport,
        place: Place,
    ) -> Result<Fetched> {
        let dir = self.brochure_dir();
        let mut part = PartialDownload::open(dir, &file.sha256, file.size).await?;
        if part.is_full() && !part.verifies() {
            part.restart().await?;
        }
        let mut retry = 0;
        while !part.is_full() {
            let attempt = self.download_attempt(client, file, &mut part, reporter, report, place);
            if let Err(failure) = client.attempt(attempt).await {
                if let Err(e) = client.after_failure(failure, &mut retry).await {
                    if !matches!(e, Error::Network(_) | Error::Cancelled) {
                        part.discard().await?;
                    }
                    return Err(e);
                }
            }
        }
        let dest = file_path(dir, &file.sha256, &file.media_type);
        if part.finish(&dest).await? {
            self.record_file(&file.sha256, file.size, &file.media_type)?;
            Ok(Fetched::Verified)
        } else {
            Ok(Fetched::Mismatch)
        }
    }

    /// One request for the rest of a file. A body ending early is a transient failure, so that
    /// the next attempt resumes; a file of another size than the catalog's is refused at once.
    async fn download_attempt(
        &self,
        client: &HubClient,
        file: &BrochureFile,
        part: &mut PartialDownload,
        reporter: &Reporter,
        report: &mut FetchReport,
        place: Place,
    ) -> Result<(), Failure> {
        let mut req = client.request(Method::GET, &format!("/v1/blobs/{}", file.sha256));
        if let Some(range) = part.range_header() {
            req = req.header(RANGE, range);
        }
        let mut resp = client.send_raw(req, 0).await?;
        let announced = resp.content_length();
        match resp.status() {
            StatusCode::OK => {
                if announced.is_some_and(|n| n != file.size) {
                    return Err(Failure::Fatal(wrong_size()));
                }
                part.restart().await.map_err(io_failure)?;
            }
            StatusCode::PARTIAL_CONTENT => {
                let range = resp
                    .headers()
                    .get(CONTENT_RANGE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(content_range);
                match range {
                    Some((_, Some(total))) if total != file.size => return Err(Failure::Fatal(wrong_size())),
                    Some((start, _)) if start == part.offset() => {}
                    _ => {
                        part.restart().await.map_err(io_failure)?;
                        return Err(Failure::transient(Error::Protocol(
                            "the hub resumed a download at the wrong place".into(),
                        )));
                    }
                }
            }
            StatusCode::RANGE_NOT_SATISFIABLE => {
                // The next attempt asks for the whole file, whose size then tells.
                part.restart().await.map_err(io_failure)?;
                return Err(Failure::transient(Error::Protocol(
                    "the hub could not resume a download".into(),
                )));
            }
            _ => return Err(client.refusal(resp).await),
        }
        let mut received = 0u64;
        let mut told = part.offset();
        while let Some(chunk) = client.next_chunk(&mut resp).await? {
            part.append(&chunk).await.map_err(io_failure)?;
            received += chunk.len() as u64;
            report.bytes += signed::<_, i64>(chunk.len());
            if part.offset() >= told + PROGRESS_STEP {
                told = part.offset();
                reporter.tell(
                    SyncPhase::BrochureFiles,
                    place.index,
                    place.count,
                    place.done_bytes + told,
                    place.total_bytes,
                );
            }
            if part.overflowed() {
                break;
            }
        }
        if part.is_full() {
            Ok(())
        } else if announced == Some(received) {
            // The hub sent all it has, and that is less than the catalog says.
            Err(Failure::Fatal(wrong_size()))
        } else {
            Err(Failure::transient(Error::Network(
                "a download ended early".into(),
            )))
        }
    }
}

/// Where a download stands among the files of a fetch, for progress.
#[derive(Debug, Clone, Copy)]
struct Place {
    index: u64,
    count: u64,
    done_bytes: u64,
    total_bytes: u64,
}

fn wrong_size() -> Error {
    Error::Protocol("the hub's file has another size than the catalog says".into())
}

fn io_failure(e: std::io::Error) -> Failure {
    Failure::Fatal(Error::Io(e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::brochure_files::sha256_hex;

    fn content() -> Vec<u8> {
        (0..200_000u32).map(|i| (i % 251) as u8).collect()
    }

    #[tokio::test]
    async fn a_partial_download_resumes_where_it_stopped_and_verifies() {
        let dir = tempfile::tempdir().unwrap();
        let data = content();
        let sha = sha256_hex(&data);
        let cut = 123_457;
        std::fs::write(part_path(dir.path(), &sha), &data[..cut]).unwrap();

        let mut part = PartialDownload::open(dir.path(), &sha, data.len() as u64)
            .await
            .unwrap();
        assert_eq!(part.offset(), cut as u64);
        assert_eq!(part.range_header().unwrap(), format!("bytes={cut}-"));
        assert!(!part.is_full());
        for chunk in data[cut..].chunks(10_000) {
            part.append(chunk).await.unwrap();
        }
        assert!(part.is_full() && part.verifies());
        let dest = dir.path().join(format!("{sha}.pdf"));
        assert!(part.finish(&dest).await.unwrap());
        assert_eq!(std::fs::read(&dest).unwrap(), data);
        assert!(!part_path(dir.path(), &sha).exists());
    }

    #[tokio::test]
    async fn a_download_that_does_not_match_is_discarded() {
        let dir = tempfile::tempdir().unwrap();
        let data = content();
        let sha = sha256_hex(&data);
        let mut part = PartialDownload::open(dir.path(), &sha, data.len() as u64)
            .await
            .unwrap();
        assert!(part.range_header().is_none());
        let mut bad = data.clone();
        bad[77] ^= 1;
        part.append(&bad).await.unwrap();
        assert!(part.is_full() && !part.verifies());
        let dest = dir.path().join(format!("{sha}.pdf"));
        assert!(!part.finish(&dest).await.unwrap());
        assert!(!dest.exists() && !part_path(dir.path(), &sha).exists());

        // More bytes than the file has never verify either.
        let mut part = PartialDownload::open(dir.path(), &sha, data.len() as u64)
            .await
            .unwrap();
        part.append(&data).await.unwrap();
        part.append(b"x").await.unwrap();
        assert!(part.is_full() && !part.verifies());
    }

    #[tokio::test]
    async fn a_part_too_long_or_sent_whole_starts_over() {
        let dir = tempfile::tempdir().unwrap();
        let data = content();
        let sha = sha256_hex(&data);
        let mut long = data.clone();
        long.extend_from_slice(b"trailing");
        std::fs::write(part_path(dir.path(), &sha), &long).unwrap();
        let mut part = PartialDownload::open(dir.path(), &sha, data.len() as u64)
            .await
            .unwrap();
        assert_eq!(part.offset(), 0);
        assert!(part.range_header().is_none());

        // The hub ignored the range and sends everything: start over, then take it all.
        part.append(&data[..1000]).await.unwrap();
        part.restart().await.unwrap();
        part.append(&data).await.unwrap();
        assert!(part.verifies());
        let dest = dir.path().join(format!("{sha}.pdf"));
        assert!(part.finish(&dest).await.unwrap());
        assert_eq!(std::fs::read(&dest).unwrap(), data);
    }

    #[test]
    fn content_ranges_are_read() {
        assert_eq!(content_range("bytes 100-199/200"), Some((100, Some(200))));
        assert_eq!(content_range(" bytes 0-0/1 "), Some((0, Some(1))));
        assert_eq!(content_range("bytes 5-9/*"), Some((5, None)));
        assert_eq!(content_range("bytes */200"), None);
        assert_eq!(content_range("bytes 1-2/x"), None);
        assert_eq!(content_range("items 1-2/3"), None);
    }
}
