//! Application Default Credentials: finds a key file (`GOOGLE_APPLICATION_CREDENTIALS`, gcloud's well-known file)
//! or the metadata server, prints where it looked, and reads a queue.
//!
//! ```sh
//! TASKQUEUE_EMULATOR_HOST=127.0.0.1:8080 GOOGLE_APPLICATION_CREDENTIALS=dev/service-account.json \
//!     cargo run -p taskqueue-client --example adc -- s~dev-project pull-queue
//! ```
#![allow(clippy::print_stdout, reason = "an example prints its results")]

use taskqueue_client::{Client, GetQueueRequest, QueueRef, auth};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let project = args.next().unwrap_or_else(|| "s~dev-project".to_owned());
    let queue = args.next().unwrap_or_else(|| "pull-queue".to_owned());

    let adc = auth::application_default_credentials().await?;
    println!("{}", adc.report());
    // The base URL comes from TASKQUEUE_EMULATOR_HOST when set.
    let client = Client::builder().token_provider(adc.provider()).build()?;
    let answer = client
        .get_queue(GetQueueRequest::new(QueueRef::new(project, queue)).with_stats(true))
        .await?;
    println!("{}", serde_json::to_string_pretty(&answer)?);
    Ok(())
}
