//! AWS layer: an in-memory [`FlowLogs`] for reconciler unit tests (never used end to end): it
//! answers every request with the flows it holds, filtered by nothing, and records requests.

use super::{EvidenceRequest, FlowLogs};
use crate::aws::AwsError;
use crate::domain::evidence::{EvidenceDocument, EVIDENCE_SCHEMA};
use std::sync::Mutex;

/// Serves a fixed evidence document (its window replaced by the request's) or a fixed error.
#[derive(Debug, Default)]
pub struct FakeFlowLogs {
    answer: Mutex<Option<Result<EvidenceDocument, AwsError>>>,
    requests: Mutex<Vec<EvidenceRequest>>,
}

impl FakeFlowLogs {
    /// Answers with `document` from now on.
    pub fn answer(&self, document: EvidenceDocument) {
        *self.answer.lock().expect("fake lock") = Some(Ok(document));
    }

    /// Fails with `error` from now on.
    pub fn fail(&self, error: AwsError) {
        *self.answer.lock().expect("fake lock") = Some(Err(error));
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<EvidenceRequest> {
        self.requests.lock().expect("fake lock").clone()
    }
}

#[async_trait::async_trait]
impl FlowLogs for FakeFlowLogs {
    async fn collect(&self, request: &EvidenceRequest) -> Result<EvidenceDocument, AwsError> {
        self.requests
            .lock()
            .expect("fake lock")
            .push(request.clone());
        match self.answer.lock().expect("fake lock").clone() {
            Some(Ok(mut document)) => {
                document.window = request.window;
                Ok(document)
            }
            Some(Err(error)) => Err(error),
            None => Ok(EvidenceDocument {
                schema: EVIDENCE_SCHEMA.to_string(),
                window: request.window,
                coverage: Default::default(),
                stats: Default::default(),
                flows: Vec::new(),
            }),
        }
    }
}
