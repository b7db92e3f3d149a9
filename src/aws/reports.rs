//! AWS layer: the `ReportStore` port — uploads a finished report file to S3, streamed from disk —
//! on `aws-sdk-s3` ([`S3ReportStore`]) and in memory ([`FakeReportStore`]).

use super::{AwsError, Failure};
use aws_sdk_s3::primitives::ByteStream;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

/// Where reports go.
#[async_trait::async_trait]
pub trait ReportStore: Send + Sync {
    /// Uploads the file at `path` as `s3://bucket/key`.
    async fn put_file(
        &self,
        bucket: &str,
        key: &str,
        path: &Path,
        content_type: &str,
    ) -> Result<(), AwsError>;
}

/// [`ReportStore`] on S3 (PutObject; the body is read from the file as it is sent).
#[derive(Debug, Clone)]
pub struct S3ReportStore {
    client: aws_sdk_s3::Client,
}

impl S3ReportStore {
    /// Wraps a configured client.
    pub fn new(client: aws_sdk_s3::Client) -> Self {
        S3ReportStore { client }
    }
}

#[async_trait::async_trait]
impl ReportStore for S3ReportStore {
    async fn put_file(
        &self,
        bucket: &str,
        key: &str,
        path: &Path,
        content_type: &str,
    ) -> Result<(), AwsError> {
        let action = format!("upload s3://{bucket}/{key}");
        let body = ByteStream::from_path(path)
            .await
            .map_err(|e| AwsError::Other(Failure::new(action.as_str(), "", &e.to_string())))?;
        self.client
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_type(content_type)
            .body(body)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(action.as_str(), &e))?;
        Ok(())
    }
}

/// Uploaded objects in memory, by `s3://bucket/key`: `(content type, bytes)`.
#[derive(Debug, Default)]
pub struct FakeReportStore {
    /// The objects.
    pub objects: Mutex<BTreeMap<String, (String, Vec<u8>)>>,
    /// When set, every upload fails with this error.
    pub fail: Mutex<Option<AwsError>>,
}

#[async_trait::async_trait]
impl ReportStore for FakeReportStore {
    async fn put_file(
        &self,
        bucket: &str,
        key: &str,
        path: &Path,
        content_type: &str,
    ) -> Result<(), AwsError> {
        if let Some(error) = self.fail.lock().unwrap_or_else(|p| p.into_inner()).clone() {
            return Err(error);
        }
        let bytes = std::fs::read(path).map_err(|e| {
            AwsError::Other(Failure::new(
                format!("read {}", path.display()),
                "",
                &e.to_string(),
            ))
        })?;
        let uri = format!("s3://{bucket}/{key}");
        let mut objects = self.objects.lock().unwrap_or_else(|p| p.into_inner());
        objects.insert(uri, (content_type.to_owned(), bytes));
        Ok(())
    }
}
