//! The hub demo, run by `outreach-hub demo`.

/// Runs the demo.
pub async fn run() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    Err("demo not written yet".into())
}
